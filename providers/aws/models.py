"""Amazon Bedrock for the project's language models: the model id each gateway invokes, and the
inline policy of a task role that may invoke them (a gateway's, or an ``x-defang-llm``
service's), no other model and no other action.

A catalogue model with ``profile`` serves on-demand requests only through a geographic
cross-Region inference profile: its id is the model's with the geography of the deployment
region before it (``eu.amazon.nova-lite-v1:0`` from eu-west-1), and Bedrock may route a
request to any region of that geography. IAM then has to allow, as Bedrock's user guide says
(Geographic cross-Region inference, "IAM policy requirements"), the profile in the source
region and the foundation model in every destination region; the second only through that
profile (``bedrock:InferenceProfileArn``), so the role cannot call the model in another region
directly. A model served in the region is allowed there only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from berth.ai_models import (
    CATALOGUE,
    CloudModel,
    Platform,
    cloud_model,
    model_refusal,
    names_on,
)
from berth.components.models import MODEL_ARGUMENT
from berth.components.names import fitted
from berth.errors import BerthError
from berth.model import AiModel, ComposeProject, Service
from berth.providers.aws.account import Account
from berth.providers.aws.iam import POLICY_NAME_LIMIT
from berth.sources import Sources

GEOGRAPHIES: tuple[tuple[str, str], ...] = (
    ("us-gov-", "us-gov"),
    ("us-", "us"),
    ("eu-", "eu"),
    ("ap-", "apac"),
)
"""A region's name prefix, and the prefix of the geographic inference profiles it calls (AWS
CDK's ``CrossRegionInferenceProfileRegion``). Bedrock also has ``jp`` and ``au`` profiles, but
for some models only: the catalogue's profile models are served in ap-* regions
through ``apac``."""
INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
"""What LiteLLM calls: Converse and ConverseStream are authorized by these two as well."""


def profile_geography(region: str) -> str | None:
    """The geography of ``region``'s cross-Region inference profiles; None: it has none."""
    return next((geo for prefix, geo in GEOGRAPHIES if region.startswith(prefix)), None)


def invoke_policy(
    models: Sequence[CloudModel],
    *,
    geography: str | None,
    partition: str,
    region: str,
    account_id: str,
) -> dict[str, Any]:
    """A policy that may invoke ``models`` and nothing else: a profile model through the
    region's profile when the model has one in the region's geography (none otherwise), any
    other in the region."""
    profiled = sorted({m.id for m in models if geography in m.geographies})
    in_region = sorted({m.id for m in models if not m.profile})
    statements: list[dict[str, Any]] = []
    if profiled:
        profiles = [
            f"arn:{partition}:bedrock:{region}:{account_id}:inference-profile/{geography}.{id_}"
            for id_ in profiled
        ]
        statements.append(
            {"Sid": "InferenceProfiles", "Effect": "Allow", "Action": INVOKE, "Resource": profiles}
        )
        statements.append(
            {
                "Sid": "ModelsThroughTheProfiles",
                "Effect": "Allow",
                "Action": INVOKE,
                "Resource": [f"arn:{partition}:bedrock:*::foundation-model/{i}" for i in profiled],
                "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": profiles}},
            }
        )
    if in_region:
        statements.append(
            {
                "Sid": "ModelsInTheRegion",
                "Effect": "Allow",
                "Action": INVOKE,
                "Resource": [
                    f"arn:{partition}:bedrock:{region}::foundation-model/{id_}" for id_ in in_region
                ],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


class Bedrock:
    """The project's models on Bedrock, in the region the project deploys to."""

    def __init__(self, project: ComposeProject, sources: Sources, account: Account) -> None:
        self.account = account
        self.sources = sources
        self.project = project
        self.models = {
            name: cloud_model(model, Platform.BEDROCK, sources)
            for name, model in project.models.items()
        }
        self.catalogue = [CATALOGUE[name][Platform.BEDROCK] for name in names_on(Platform.BEDROCK)]
        """What an ``x-defang-llm`` service may invoke: every model of the table."""
        self.geography = account.region.apply(profile_geography)
        region = account.region_name  # when known now, refused before anything is planned
        for name, cloud in self.models.items():
            if region and cloud.profile and profile_geography(region) not in cloud.geographies:
                raise self._no_geography(project.models[name], region)

    def command(self, service: Service) -> list[pulumi.Input[str]] | None:
        """A gateway's command invoking its model through the region's inference profile, when
        the model needs one; None: the command as written."""
        if service.serves_model is None or service.command is None:
            return None
        cloud = self.models[service.serves_model]
        if not cloud.profile:
            return None
        command: list[pulumi.Input[str]] = [str(part) for part in service.command]
        provider = str(command[MODEL_ARGUMENT]).split("/", 1)[0]
        geography = self._required_geography(self.project.models[service.serves_model])
        command[MODEL_ARGUMENT] = geography.apply(lambda geo: f"{provider}/{geo}.{cloud.id}")
        return command

    def grant(
        self, name: str, service: Service, role: aws.iam.Role, parent: pulumi.Resource
    ) -> aws.iam.RolePolicy | None:
        """The inline policy (resource ``name``) by which ``service``'s task ``role`` invokes
        the models it calls: a gateway its model, an ``x-defang-llm`` service the table's."""
        if service.serves_model is not None:
            model = self.project.models[service.serves_model]
            models = [self.models[model.name]]
            geography: pulumi.Output[str | None] = (
                self._required_geography(model) if models[0].profile else self.geography
            )
        elif service.model_access:
            models, geography = self.catalogue, self.geography
        else:
            return None
        account = self.account
        policy = pulumi.Output.all(
            geography, account.partition, account.region, account.account_id
        ).apply(
            lambda known: json.dumps(
                invoke_policy(
                    models,
                    geography=known[0],
                    partition=known[1],
                    region=known[2],
                    account_id=known[3],
                ),
                sort_keys=True,
            )
        )
        return aws.iam.RolePolicy(
            fitted(name, POLICY_NAME_LIMIT),
            role=role.id,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=parent),
        )

    def _required_geography(self, model: AiModel) -> pulumi.Output[str]:
        """The region's geography, which ``model`` cannot do without: a region known only
        once the provider answers is refused then, in one line all the same."""

        geographies = self.models[model.name].geographies

        def known(region: str) -> str:
            if (geography := profile_geography(region)) is None or geography not in geographies:
                raise pulumi.RunError(self._no_geography(model, region).message)
            return geography

        return self.account.region.apply(known)

    def _no_geography(self, model: AiModel, region: str) -> BerthError:
        cloud = self.models[model.name]
        geography = profile_geography(region)
        served = [
            name
            for name in names_on(Platform.BEDROCK)
            if not (other := CATALOGUE[name][Platform.BEDROCK]).profile
            or geography in other.geographies
        ]
        return model_refusal(
            model,
            self.sources,
            f"{model.model!r} is served on Amazon Bedrock only through the "
            f"{'/'.join(sorted(cloud.geographies))} cross-Region inference profiles, and "
            f"region {region} is in none of their geographies",
            f"deploy to a region of {', '.join(sorted(cloud.geographies))} (aws:region), "
            f"or use a model Bedrock serves in {region}: {', '.join(served)}",
        )
