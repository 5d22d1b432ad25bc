"""AWS's limits on the names and tags Berth makes of compose names, which have none.

A name within its limit is used as it is; a longer one keeps its start and ends with a hash of
the whole (``berth.names.shortened``; for a name pulumi-aws generates from the resource's,
``berth.components.names.fitted``), so it stays unique, is the same on every run, and a stack that
deployed before (its names all within their limits) keeps every name.
"""

from __future__ import annotations

import re

from berth.names import normalised, portable_name, shortened

DNS_LABEL = 63
"""The stack's prefix: the first label of its Cloud Map namespace, ``<prefix>.internal``."""
ECS_NAME = 255
"""ECS cluster and service names, task definition families (RegisterTaskDefinition)."""
CONTAINER_NAME = 236
"""Container and task volume names (ECS takes 255): awslogs names a container's log stream
``<stream prefix>/<container>/<task id>``, the prefix is the service's container name, the init
container's is 5 characters longer (``-init``), a task id 32, and CloudWatch Logs takes 512."""
TAG_VALUE = 256
SCHEDULE_NAME = 64
"""EventBridge Scheduler schedule names: 1 to 64 letters, digits, '-', '_' and '.'."""
SECURITY_GROUP_NAME = 255
SUBNET_GROUP_NAME = 255
"""RDS and ElastiCache subnet groups."""
SECURITY_GROUP_DESCRIPTION = 255
SECRET_NAME = 512
ECR_REPOSITORY = 256
ACCESS_POINT_PATH = 100
"""An EFS access point's root directory."""


def name_tag(name: str) -> dict[str, str]:
    """The ``Name`` tag the console lists a resource by."""
    return {"Name": shortened(name, TAG_VALUE)}


def hyphenated(name: str) -> str:
    """``name`` with each character but a letter, a digit or ``-`` made a ``-``: ElastiCache's
    names take no other, and a compose project's name may hold ``_``; a name it took is kept."""
    return normalised(name, "A-Za-z0-9-", lower=False, runs=False, start="", end="")


def label_problem(name: str) -> tuple[str, str] | None:
    """What keeps a service's name from being the DNS label Cloud Map serves it by (letters,
    digits, '-' and '_', no '-' at either end, at most 63 characters), and what to do; None
    when it is one."""
    if len(name) > DNS_LABEL:
        problem = f"it has {len(name)} characters, more than {DNS_LABEL}"
    elif others := sorted(set(re.sub(r"[A-Za-z0-9_-]", "", name))):
        held = ", ".join(map(repr, others))
        problem = f"it holds {held}: a label holds only letters, digits, '-' and '_'"
    elif name.startswith("-") or name.endswith("-"):
        problem = f"it {'starts' if name.startswith('-') else 'ends'} with '-'"
    else:
        return None
    suggestion = portable_name(name)
    rule = "letters, digits, '-' and '_', a letter, digit or '_' first and last"
    return problem, f"rename it, e.g. {suggestion!r}" if suggestion else f"rename it: {rule}"
