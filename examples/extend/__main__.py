"""Your own Pulumi program, building on Berth: the seed's migrate app, plus a database admin UI.

The Project deploys ``../migrate/compose.yaml`` (db, the migrate job, web). The extra resource,
an Adminer container, uses two Project outputs: the project's network (a shared resource), and
the migrate job's run, so Adminer starts only once the schema exists. Deploy it to local
Docker from the repository's root (README.md, "Build on a Project"):

    scripts/deploy-local examples/extend
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi
import pulumi_docker as docker

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # Berth's packages, this repository
from berth.components.project import Project, ProjectArgs

COMPOSE_FILES = [str(Path(__file__).resolve().parent.parent / "migrate" / "compose.yaml")]

shop = Project("shop", ProjectArgs.from_files(COMPOSE_FILES, "local"))

network = shop.shared["network"]
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
