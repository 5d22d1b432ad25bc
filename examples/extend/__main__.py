"""Your own Pulumi program, building on Berth: the seed's migrate app, plus a database admin UI.

The Project deploys ``../migrate/compose.yaml`` (db, the migrate job, web). The extra resource,
an Adminer container, uses two Project outputs: the project's network (a shared resource), and
the migrate job's run, so Adminer starts only once the schema exists. Deploy it to local
Docker from the repository's root (README.md, "Build on a Project"); its requirements.txt
installs Berth as any program of one's own does (here from this repository, ``-e ../..``):

    scripts/deploy-local examples/extend
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_docker as docker

from berth.components.project import Project, ProjectArgs
from berth.providers.local.roles import Shared

COMPOSE_FILES = [str(Path(__file__).resolve().parent.parent / "migrate" / "compose.yaml")]

shop = Project("shop", ProjectArgs.from_files(COMPOSE_FILES, "local"))

network = Shared.of(shop.shared).network  # typed: a docker.Network (shop.shared["network"] too)
adminer = docker.Container(
    "adminer",
    name=f"shop-{pulumi.get_stack()}-adminer",
    image=docker.RemoteImage("adminer-image", name="adminer:4", keep_locally=True).image_id,
    networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name)],
    envs=["ADMINER_DEFAULT_SERVER=db"],
    ports=[docker.ContainerPortArgs(internal=8080, external=8080)],
    opts=pulumi.ResourceOptions(depends_on=[shop.jobs["migrate"].run]),
)

pulumi.export("services", shop.endpoints)
pulumi.export("migration", shop.jobs["migrate"].result)
pulumi.export("adminer", "http://localhost:8080")
