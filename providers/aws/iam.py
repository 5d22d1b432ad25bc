"""The project's IAM roles: one execution role (ECS pulls images and reads secrets with it),
and a task role per service and job (the containers' own identity: what one service may do,
such as mounting its volumes, no other service may).

The execution role's policy is scoped by name, not listed per resource: the stack's secrets
(``berth/<prefix>/*``), its repositories (``<prefix>/*``) and its cache of ECR Public
(``<cache prefix>/*``). Its size is thus the same for 2 services or 500; a statement per secret
would pass IAM's 10,240-character limit for a role's inline policies at about 20 services.
The execution role is used by ECS itself, never by a container, so one role for the project
gives no service the others' secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from berth.components.names import Names, fitted
from berth.names import shortened
from berth.providers.aws.account import Account
from berth.providers.aws.images import EcrRepository
from berth.providers.aws.names import TAG_VALUE

PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
CACHE_FILL = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
"""What a pull through the cache needs the first time an image is pulled (ECR user guide,
"IAM permissions required to sync an upstream registry")."""


ROLE_NAME_LIMIT = 64
"""IAM role names."""
POLICY_NAME_LIMIT = 128
"""IAM inline policy names."""


@dataclass(frozen=True)
class Roles:
    execution: aws.iam.Role
    execution_policy: aws.iam.RolePolicy
    """What every task waits on: without it, ECS cannot pull or read a secret."""
    tasks: dict[str, aws.iam.Role]
    """Each service's and job's own task role, by compose name."""


def ecs_tasks_trust(account: Account) -> pulumi.Output[str]:
    """Only ECS tasks of this account may assume the role (the confused-deputy guard the ECS
    developer guide recommends for task roles)."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account.account_id},
                        "ArnLike": {"aws:SourceArn": account.arn("ecs", "*")},
                    },
                }
            ],
        }
    )


def create_roles(
    names: Names,
    *,
    prefix: str,
    cache_prefix: str,
    account: Account,
    log_group_arn: pulumi.Input[str],
    workloads: Sequence[str],
    pulled: Sequence[EcrRepository],
    parent: pulumi.Resource,
) -> Roles:
    """``pulled``: the ECR repositories outside the stack's own that ``image:`` names (another
    team's, another region's); the execution role may pull from each."""
    opts = pulumi.ResourceOptions(parent=parent)
    trust = ecs_tasks_trust(account)
    execution = aws.iam.Role(
        fitted(names("execution"), ROLE_NAME_LIMIT), assume_role_policy=trust, opts=opts
    )
    policy = aws.iam.RolePolicy(
        fitted(names("execution"), POLICY_NAME_LIMIT),
        role=execution.id,
        policy=pulumi.Output.json_dumps(
            policy_document(
                [
                    (
                        ["logs:CreateLogStream", "logs:PutLogEvents"],
                        [pulumi.Output.concat(log_group_arn, ":*")],
                    ),
                    (["ecr:GetAuthorizationToken"], ["*"]),
                    (
                        PULL,
                        [
                            account.arn("ecr", f"repository/{prefix}/*"),
                            account.arn("ecr", f"repository/{cache_prefix}/*"),
                            *(repository.arn(account.partition) for repository in pulled),
                        ],
                    ),
                    (CACHE_FILL, [account.arn("ecr", f"repository/{cache_prefix}/*")]),
                    (
                        ["secretsmanager:GetSecretValue"],
                        [account.arn("secretsmanager", f"secret:berth/{prefix}/*")],
                    ),
                ]
            )
        ),
        opts=opts,
    )
    tasks = {
        workload: aws.iam.Role(
            fitted(names(workload, "task"), ROLE_NAME_LIMIT),
            assume_role_policy=trust,
            tags={"berth:stack": prefix, "berth:service": shortened(workload, TAG_VALUE)},
            opts=pulumi.ResourceOptions.merge(opts, names.aliased(f"{workload}-task")),
        )
        for workload in workloads
    }
    return Roles(execution=execution, execution_policy=policy, tasks=tasks)


def policy_document(statements: Sequence[tuple[list[str], list[Any]]]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": resources}
            for actions, resources in statements
        ],
    }
