"""Random compose-shaped documents: the loader gives a project or a BerthError, never a crash.

Each example is written with ``yaml.safe_dump`` into its own temporary folder (hypothesis runs
many examples per test call, so the function-scoped fixtures cannot hold them).
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from berth.errors import BerthError
from berth.load import load_project
from berth.model import ComposeProject
from berth.variables import Variables

SECRET_VALUE = "Zq9-never-in-plain-$text"
VARIABLES = Variables({"TAG": "1.0", "PRICE": "$5", "TOKEN": SECRET_VALUE}, frozenset({"TOKEN"}))

KNOWN_NAMES = ["web", "db", "migrate", "my-api", "on", "no", "1", "a.b"]
names = st.one_of(
    st.sampled_from(KNOWN_NAMES),
    st.sampled_from(KNOWN_NAMES),
    st.text(string.ascii_lowercase + string.digits + "-_.", min_size=1, max_size=6),
)
interpolated = st.sampled_from(
    [
        "plain",
        "with space",
        "${TAG}",
        "v${TAG}",
        "${TAG:-d}",
        "${UNSET-d}",
        "$$literal",
        "${TOKEN}",
        "pre-${PRICE}-post",
        "${UNSET:-${TAG}}",
    ]
)
failing_interpolations = st.sampled_from(
    ["${UNSET:?must be set}", "${UNSET?must be set}", "$", "${", "${TAG"]
)
garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    interpolated,
    failing_interpolations,
)


def mostly(valid: st.SearchStrategy[Any], odds: int = 10) -> st.SearchStrategy[Any]:
    """``valid``, or once in ``odds`` any scalar: deep enough to reach Berth, odd enough to fail."""
    return st.integers(1, odds).flatmap(lambda roll: garbage if roll == odds else valid)


durations = mostly(
    st.one_of(
        st.sampled_from(["30s", "1m30s", "500ms", "1h", "0s", "soon", "-1s", "10", "1d", "5ns"]),
        st.integers(-5, 100),
    )
)
ports = st.one_of(
    st.integers(-1, 70000),
    st.sampled_from(
        ["80", "8080:80", "8080-8081:8080-8081", "127.0.0.1:9000:90/udp", "abc:80", "80:80/xyz"]
    ),
    st.text("0123456789:-/.udptc", max_size=14),
    st.fixed_dictionaries(
        {"target": mostly(st.integers(0, 70000))},
        optional={
            "published": st.one_of(st.integers(0, 70000), st.text("0123456789-", max_size=9)),
            "host_ip": st.sampled_from(["127.0.0.1", "::1", "nope"]),
            "protocol": st.sampled_from(["tcp", "udp", "sctp", "x"]),
            "mode": st.sampled_from(["host", "ingress", "other"]),
        },
    ),
    interpolated,
)
conditions = st.sampled_from(
    ["service_started", "service_healthy", "service_completed_successfully", "bogus"]
)
depends_on = st.one_of(
    st.lists(names, max_size=3),
    st.dictionaries(
        names,
        st.fixed_dictionaries(
            {}, optional={"condition": conditions, "required": mostly(st.booleans())}
        ),
        max_size=3,
    ),
)
env_keys = st.text(string.ascii_uppercase + "_", min_size=1, max_size=6)
environment = mostly(
    st.one_of(
        st.lists(
            st.one_of(env_keys, st.builds("{}={}".format, env_keys, interpolated)), max_size=4
        ),
        st.dictionaries(env_keys, mostly(interpolated), max_size=4),
    )
)
healthcheck = st.fixed_dictionaries(
    {},
    optional={
        "test": st.one_of(
            st.text(max_size=10),
            st.lists(st.sampled_from(["CMD", "CMD-SHELL", "NONE", "true", "${TOKEN}"]), max_size=3),
        ),
        "interval": durations,
        "timeout": durations,
        "start_period": durations,
        "retries": mostly(st.integers(-2, 10)),
        "disable": mostly(st.booleans()),
    },
)
volumes = st.lists(
    st.one_of(
        st.sampled_from(["data:/data", "./local:/l", "/abs:/abs:ro", "undeclared:/u", ":/x"]),
        st.text(max_size=10),
        st.fixed_dictionaries(
            {"type": st.sampled_from(["volume", "bind", "tmpfs", "npipe", "x"])},
            optional={"source": st.text(max_size=6), "target": st.sampled_from(["/t", "", "rel"])},
        ),
    ),
    max_size=3,
)
extra_keys = st.dictionaries(
    st.integers(1, 6).flatmap(
        lambda roll: (
            st.text(string.ascii_lowercase + "_-", min_size=1, max_size=8)
            if roll == 6
            else st.builds("x-{}".format, st.text(string.ascii_lowercase, max_size=5))
        )
    ),
    garbage,
    max_size=2,
)
resources = st.fixed_dictionaries(
    {},
    optional={
        "cpus": mostly(st.sampled_from(["0.5", "2", "lots"])),
        "memory": mostly(st.sampled_from(["512M", "1g", "100k", "lots"])),
    },
)
service = st.fixed_dictionaries(
    {"image": mostly(st.sampled_from(["nginx", "postgres:16", "app:${TAG}", "app:${TOKEN}"]), 10)},
    optional={
        "build": st.one_of(
            st.sampled_from([".", "./app", "https://example.com/repo.git"]),
            st.fixed_dictionaries(
                {},
                optional={
                    "context": st.sampled_from([".", "./sub", ""]),
                    "dockerfile": st.text(max_size=6),
                    "target": st.text(max_size=6),
                    "args": st.dictionaries(env_keys, mostly(interpolated), max_size=2),
                },
            ),
        ),
        "ports": mostly(st.lists(ports, max_size=3)),
        "expose": st.lists(st.one_of(st.integers(0, 70000), st.text("0123456789-/", max_size=9))),
        "depends_on": depends_on,
        "restart": st.sampled_from(["no", "always", "unless-stopped", "on-failure", "garbage"]),
        "environment": environment,
        "env_file": st.sampled_from(["missing.env", ["a.env"]]),
        "command": st.one_of(st.text(max_size=12), st.lists(interpolated, max_size=3)),
        "entrypoint": st.one_of(st.text(max_size=12), st.lists(st.text(max_size=4), max_size=2)),
        "healthcheck": healthcheck,
        "volumes": volumes,
        "deploy": st.fixed_dictionaries(
            {},
            optional={
                "replicas": mostly(st.integers(-1, 5)),
                "resources": st.fixed_dictionaries(
                    {}, optional={"limits": resources, "reservations": resources}
                ),
            },
        ),
        "mem_limit": mostly(st.sampled_from(["512m", "1.5g", "64"])),
        "labels": st.one_of(
            st.dictionaries(env_keys, mostly(interpolated), max_size=2), st.lists(env_keys)
        ),
        "x-berth-run": mostly(st.sampled_from(["always", "on-change", "sometimes"])),
        "x-berth-timeout": st.one_of(durations, st.lists(st.integers(), max_size=2)),
        "x-berth-other": garbage,
        "profiles": st.lists(st.sampled_from(["debug", "tools"]), max_size=2),
        "secrets": st.lists(st.sampled_from(["s1", "s2", "s3"]), max_size=2),
    },
).flatmap(lambda definition: extra_keys.map(lambda extra: {**definition, **extra}))

documents = st.fixed_dictionaries(
    {"services": st.dictionaries(names, mostly(service, 20), min_size=1, max_size=4)},
    optional={
        "name": mostly(st.sampled_from(["shop", "Bad Name!", "${TAG}"])),
        "volumes": st.dictionaries(
            st.sampled_from(["data", "other"]),
            st.one_of(st.none(), st.fixed_dictionaries({}, optional={"x-keep": garbage})),
            max_size=2,
        ),
        "x-top": garbage,
        "secrets": st.dictionaries(
            st.sampled_from(["s1", "s2"]),
            st.sampled_from([{"environment": "TOKEN"}, {"file": "./missing"}, {"external": True}]),
            max_size=2,
        ),
    },
).flatmap(lambda document: extra_keys.map(lambda extra: {**document, **extra}))


def load_document(document: dict[str, Any]) -> ComposeProject:
    with tempfile.TemporaryDirectory(prefix="berth-fuzz-") as folder:
        file = Path(folder) / "compose.yaml"
        file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        return load_project([str(file)], VARIABLES, base_dir=Path(folder))


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(documents)
def test_random_documents_load_or_fail_with_a_berth_error(document):
    try:
        project = load_document(document)
    except BerthError as error:
        assert error.file and error.file.endswith("compose.yaml"), error.message
        assert error.problem.strip()
        assert SECRET_VALUE not in error.message
        assert "berthsecret" not in error.message
    else:
        assert isinstance(project, ComposeProject)
        assert SECRET_VALUE not in repr(project)
        assert SECRET_VALUE not in str(project.warnings)


# -- regressions the fuzzer found (kept as plain tests) ----------------------------------------


def test_a_timeout_that_is_a_list_is_refused_not_a_crash():
    document = {"services": {"j": {"image": "a", "restart": "no", "x-berth-timeout": [1]}}}

    with pytest.raises(BerthError) as caught:
        load_document(document)

    assert (caught.value.service, caught.value.field) == ("j", "x-berth-timeout")


def test_an_unclosed_interpolation_names_service_field_and_the_text():
    document = {"services": {"web": {"image": "a", "environment": {"A": "${TAG"}}}}

    with pytest.raises(BerthError) as caught:
        load_document(document)

    assert (caught.value.service, caught.value.field) == ("web", "environment")
    assert "invalid interpolation format" in caught.value.message
    assert "${TAG" in caught.value.message
    assert "write $$ for a literal $" in caught.value.message
