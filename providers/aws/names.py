"""AWS's limits on the names and tags Berth makes of compose names, which have none.

A name within its limit is used as it is; a longer one keeps its start and ends with a hash of
the whole (``berth.names.shortened``; for a name pulumi-aws generates from the resource's,
``components.names.fitted``), so it stays unique, is the same on every run, and a stack that
deployed before (its names all within their limits) keeps every name.
"""

from __future__ import annotations

import re

from berth.names import shortened

DNS_LABEL = 63
"""The stack's prefix: the first label of its Cloud Map namespace, ``<prefix>.internal``."""
ECS_NAME = 255
"""ECS cluster and service names, task definition families (RegisterTaskDefinition)."""
CONTAINER_NAME = 236
"""Container and task volume names (ECS takes 255): awslogs names a container's log stream
``<stream prefix>/<container>/<task id>``, the prefix is the service's container name, the init
container's is 5 characters longer (``-init``), a task id 32, and CloudWatch Logs takes 512."""
TAG_VALUE = 256
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
    return re.sub(r"[^A-Za-z0-9-]", "-", name)
