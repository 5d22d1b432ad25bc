"""A host port on the local target: one container binds it, whichever Project publishes it."""

from __future__ import annotations

import pulumi
import pytest

from berth.components.project import Project, ProjectArgs
from berth.errors import BerthError
from berth.offline.plan import Plan, plan_config, run_plan
from tests.conftest import copy_example, program

CONTAINER = "docker:index/container:Container"


def two_projects(files: list[str], *, engines: bool = False) -> Plan:
    """``files`` deployed twice by one program, as the Projects ``shop`` and ``blog``; each
    on a Docker engine of its own (an explicit provider) if ``engines``."""
    import pulumi_docker as docker

    def both() -> Project:
        for name in ("shop", "blog"):
            providers = [docker.Provider(name, host=f"ssh://{name}.example")] if engines else []
            args = ProjectArgs.from_files(files, "local")
            project = Project(name, args, pulumi.ResourceOptions(providers=providers))
        return project

    return run_plan(plan_config(files)[0], preview=False, program=both)


def test_two_projects_publishing_one_host_port_are_refused_naming_both(project_dir):
    file = copy_example("migrate", project_dir)

    with pytest.raises(BerthError) as refused:
        two_projects([file])
    error = refused.value
    assert (error.service, error.field) == ("web", "ports")
    assert "host port 80 is published by both project shop service web and project blog " in (
        error.message
    )


def test_the_refusal_names_the_file_that_published_the_port(project_dir):
    (project_dir / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n")
    (project_dir / "ports.yaml").write_text("services:\n  web:\n    ports: ['80:80']\n")
    files = [str(project_dir / name) for name in ("compose.yaml", "ports.yaml")]

    with pytest.raises(BerthError) as refused:
        two_projects(files)
    assert refused.value.file == files[1]


def test_two_projects_on_two_engines_may_publish_one_host_port(project_dir):
    file = copy_example("migrate", project_dir)

    plan = two_projects([file], engines=True)

    webs = [r for r in plan.registrations if r.type == CONTAINER and r.name.endswith("-web")]
    assert [web.inputs["ports"][0]["external"] for web in webs] == [80, 80]


@pytest.mark.parametrize(
    ("ports", "refused"),
    [
        pytest.param(
            ('"80:80"', '"80:8080"'),
            "both project {p} service a and project {p} service b",
            id="two-services",
        ),
        pytest.param(
            ('"127.0.0.1:80:80"', '"80:8080"'),
            "127.0.0.1 and every IPv4 interface",
            id="an-address-and-every-interface",
        ),
        pytest.param(
            ('"[::]:80:80"', '"[::1]:80:80"'),
            "every IPv6 interface and ::1",
            id="an-ipv6-address-and-every-ipv6-interface",
        ),
        pytest.param(
            ('"[0::0]:80:80"', '"[::]:80:80"'),
            "(on every IPv6 interface)",
            id="two-spellings-of-every-ipv6-interface",
        ),
        pytest.param(
            ('"[::ffff:127.0.0.1]:80:80"', '"80:80"'),
            "127.0.0.1 and every IPv4 interface",
            id="an-ipv4-mapped-address-is-ipv4",
        ),
        # No host_ip is the docker provider's 0.0.0.0, bound on IPv4 only: :: is IPv6's own.
        pytest.param(('"[::]:80:80"', '"80:80"'), None, id="every-ipv6-and-every-ipv4-interface"),
        pytest.param(('"[::1]:80:80"', '"0.0.0.0:80:80"'), None, id="ipv6-and-ipv4"),
        pytest.param(
            ('"80:80", "80:81"',), "twice by project {p} service a", id="one-service-twice"
        ),
        pytest.param(('"127.0.0.1:80:80"', '"127.0.0.2:80:80"'), None, id="two-addresses"),
        pytest.param(('"80:80"', '"80:80/udp"'), None, id="tcp-and-udp"),
        pytest.param(('"80"', '"80"'), None, id="ephemeral"),
    ],
)
def test_a_host_port_is_refused_only_where_two_bindings_collide(project_dir, write, ports, refused):
    write(
        "services:\n"
        + "".join(
            f"  {name}:\n    image: nginx\n    ports: [{published}]\n"
            for name, published in zip("ab", ports, strict=False)
        )
    )

    if refused is None:
        program(["compose.yaml"])
        return
    with pytest.raises(BerthError) as error:
        program(["compose.yaml"])
    assert error.value.field == "ports"
    assert refused.format(p=project_dir.name) in error.value.message, error.value.message
