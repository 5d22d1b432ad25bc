"""The re-run rule of one-off jobs, once, for every target's run-once resource.

A run-once resource runs its job to completion in ``create`` and fails when the job fails, so
a failed run records nothing in the state and the next ``pulumi up`` runs it again. Its inputs
are ``definition`` (what the job runs: image digest, command, environment, resources, ...),
``runAlways`` and target settings such as ``timeout``. The job runs again only when
``definition`` changes, or on every deployment with ``runAlways``; any other change is an
in-place update that runs nothing.

The secret values a job holds arrive as the secret input ``scrubValues`` (a setting, outside
``definition``, so it never decides a re-run): every failure message and log tail is scrubbed
of them here, whatever the target, and ``logTail`` is then a secret output.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from berth.components.pulumi_internals import UNKNOWN
from berth.components.target import JobHandle
from berth.model import Hook, Secret, Service
from berth.variables import MIN_SECRET_LENGTH

RESULT_KEYS = ("exitCode", "durationSeconds", "finishedAt", "logTail")
OFFLINE_RESULT: dict[str, Any] = {
    "exitCode": 0,
    "durationSeconds": 0.0,
    "finishedAt": "",
    "logTail": "",
}
"""What a successful run reports in the offline plan, on every target."""
SCRUB_KEY = "scrubValues"
BUILDER_KEY = "imageBuilder"
BUILDKIT = "buildkit"
"""Recorded with every run since images are built with BuildKit: a run recorded without it
used an image pulumi-docker built (``adopts``)."""
_DIGEST = re.compile(r"(?:@|^)sha256:[0-9a-f]{64}$")
"""A string that ends in an image digest: an image as a definition runs it."""
_NOT_SETTINGS = ("__provider", "definition", *RESULT_KEYS)
MASK = "[secret]"


class JobFailed(Exception):
    """A job exited non-zero, could not start, or ran past its timeout."""


class RunOnceProvider(ResourceProvider):
    """Runs a job once per definition; subclasses say how a job runs on their target."""

    unordered: ClassVar[frozenset[str]] = frozenset()
    """Dotted paths of ``definition`` lists whose order means nothing (mounts, say): compared
    sorted, so reordering them in compose, or a state written before they were sorted, runs
    nothing."""
    credentials: ClassVar[frozenset[str]] = frozenset()
    """Inputs that say only who the provider acts as (``identity``): a change of them alone is
    no change, so credentials renewed for each CI run leave the next ``up`` without a diff;
    ``create`` and ``update`` still act as the newest (``news``). Only for a provider that calls
    nothing at ``delete``: when diff finds no change, Pulumi keeps the recorded outputs, and
    ``delete`` gets those, with the credentials of the last create or update."""

    @abstractmethod
    def run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """Run the job to completion; return ``exitCode`` and ``logTail``, or raise JobFailed."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        secrets = scrub_values(props)
        started = time.monotonic()
        try:
            result = self.run(props)
        except JobFailed as error:
            raise JobFailed(scrub(str(error), secrets)) from None
        except Exception as error:  # its message may quote a command or a URL holding a secret
            raise JobFailed(f"{type(error).__name__}: {scrub(str(error), secrets)}") from None
        if isinstance(result.get("logTail"), str):
            result["logTail"] = scrub(result["logTail"], secrets)
        if result.get("exitCode") != 0:  # whatever the target reported: never recorded
            raise JobFailed(
                f"{job_label(props)} failed with exit code {result.get('exitCode')}. "
                f"Last log lines:\n{result.get('logTail') or '(no output)'}"
            )
        outs = {
            **props,
            **result,
            "durationSeconds": round(time.monotonic() - started, 1),
            "finishedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return CreateResult(id_=f"{props['job']}-{uuid.uuid4().hex[:12]}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = (self.canonical(props.get("definition")) for props in (olds, news))
        if news.get("runAlways") or (_differs(old, new) and not adopts(olds, news, old, new)):
            return DiffResult(changes=True, replaces=["definition"], delete_before_replace=False)
        ignored = {*_NOT_SETTINGS, *self.credentials}
        changed = [key for key in news if key not in ignored and olds.get(key) != news[key]]
        return DiffResult(changes=bool(changed), replaces=[])

    def canonical(self, definition: Any, path: str = "") -> Any:
        """``definition`` with its ``unordered`` lists sorted (``path``: where it lies)."""
        if isinstance(definition, Mapping):
            return {
                key: self.canonical(value, f"{path}.{key}" if path else key)
                for key, value in definition.items()
            }
        if isinstance(definition, list) and path in self.unordered:
            return sorted(definition, key=lambda item: json.dumps(item, sort_keys=True))
        return definition

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Settings changed (a timeout, say): keep the last run's result, run nothing."""
        return UpdateResult(outs={**news, **{k: olds[k] for k in RESULT_KEYS if k in olds}})


class RunOnceResource(Resource):
    """Completes only when its job succeeded; outputs the run's result.

    A target subclasses it with ``module="berth", name="<Kind>"`` (the type token) and
    names its provider in ``provider_type``.
    """

    provider_type: ClassVar[type[RunOnceProvider]]
    exitCode: pulumi.Output[int]
    durationSeconds: pulumi.Output[float]
    finishedAt: pulumi.Output[str]
    logTail: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        props: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
        *,
        secrets: Sequence[pulumi.Input[str]] | None = None,
    ) -> None:
        """``secrets``: the secret values the job holds (see ``job_secrets``), some known only
        once deployed (an AUTH string a cache made, say); with any, they become the secret
        input ``scrubValues`` and ``logTail`` a secret output."""
        inputs = {**props, BUILDER_KEY: BUILDKIT, **dict.fromkeys(RESULT_KEYS)}
        if values := [value for value in secrets or () if value]:
            inputs[SCRUB_KEY] = pulumi.Output.secret(
                pulumi.Output.all(*values).apply(lambda known: sorted(set(filter(None, known))))
            )
            # The engine marks an output secret only when the input of that name was.
            secret_tail = pulumi.ResourceOptions(additional_secret_outputs=["logTail"])
            opts = pulumi.ResourceOptions.merge(opts, secret_tail)
        super().__init__(self.provider_type(), name, inputs, opts)

    def handle(self) -> JobHandle:
        """What the job's dependents wait on (this run), and the result the Job component
        outputs: exit code, duration and finish time (the log tail stays in the state)."""
        result = {key: getattr(self, key) for key in RESULT_KEYS if key != "logTail"}
        return JobHandle(run=self, result=result)


def hook_inputs(job: Service) -> dict[str, Any]:
    """What a run-once resource adds for a ``pre_start`` hook: the digest of its service's
    definition, in ``definition`` (the hooks run again when their service would be replaced),
    and ``hook``, its service and place, for a failure message that names them as Compose
    does. Nothing for any other job, whose inputs stay as they were."""
    if not job.hook:
        return {}
    return {
        "serviceDefinition": job.hook.service_digest,
        "hook": {"service": job.hook.service, "index": job.hook.index},
    }


def job_label(props: Mapping[str, Any]) -> str:
    """The job as a failure message names it: ``service "web" pre_start[1]`` for a hook (the
    engine hands a dynamic provider its numbers as floats)."""
    hook = props.get("hook")
    if isinstance(hook, Mapping):
        return Hook(str(hook.get("service")), int(hook.get("index") or 0), "").label
    return f"job '{props['job']}'"


def job_secrets(job: Service, stack_secrets: Mapping[str, str]) -> list[str]:
    """The secret values ``job``'s log could print: every value that holds a stack secret,
    wherever the job holds it, and each of those stack secrets' own value
    (``postgres://app:${DB_PASSWORD}@db/app`` gives the URL and the password)."""
    values: set[str] = set()
    for text in job.texts():
        if isinstance(text, Secret):
            values.add(text.value)
            values.update(stack_secrets[key] for key in text.keys if key in stack_secrets)
    return sorted(value for value in values if value)


def scrub_values(props: Mapping[str, Any]) -> list[str]:
    """The values a run-once resource's ``scrubValues`` input holds (none for a target that
    does not pass them yet)."""
    return [str(value) for value in props.get(SCRUB_KEY) or ()]


def adopts(olds: Mapping[str, Any], news: Mapping[str, Any], old: Any, new: Any) -> bool:
    """Whether a run recorded before Berth built with BuildKit stands for the new definition:
    the two differ only in image digests, which the move to BuildKit changes by itself (the
    same Dockerfile and files, built again by another builder, stamp new times). Such a run is
    recorded again with the new definition, and the job does not run; every later digest
    change runs it."""
    if olds.get(BUILDER_KEY) is not None or news.get(BUILDER_KEY) != BUILDKIT:
        return False
    return _same_but_digests(old, new)


def _same_but_digests(old: Any, new: Any) -> bool:
    """``old`` and ``new`` alike where ``old`` holds no image digest; where it does, ``new``
    holds one too, or one not known yet (a preview)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return old.keys() == new.keys() and all(
            _same_but_digests(old[key], new[key]) for key in old
        )
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(map(_same_but_digests, old, new))
    if isinstance(old, str) and _DIGEST.search(old):
        return new == UNKNOWN or (isinstance(new, str) and bool(_DIGEST.search(new)))
    return old == new and not _has_unknown(new)


def _differs(old: Any, new: Any) -> bool:
    return _has_unknown(new) or old != new


def _has_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_unknown(v) for v in value)
    return False


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value, as printed or in the encodings programs print it in,
    replaced by ``[secret]``, so a job's log never leaks one.

    One pass, longest match first; a ``[secret]`` already there is kept as it is, so scrubbing
    twice changes nothing even when a secret is part of that word.
    """
    forms = {form for value in secrets for form in _printed_forms(value)}
    if not forms:
        return text
    alternatives = [MASK, *sorted(forms, key=lambda form: (-len(form), form))]
    pattern = re.compile("|".join(map(re.escape, alternatives)))
    return pattern.sub(MASK, text)


def _printed_forms(value: str) -> set[str]:
    """``value`` as a program may print it: as is, URL-encoded (``quote``, ``quote_plus``),
    JSON-escaped, and in base64 (standard and URL-safe) at any of the three byte alignments
    it can have inside a longer encoded text, such as an ``Authorization: Basic`` header."""
    if len(value) < MIN_SECRET_LENGTH:
        return set()
    forms = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    data = value.encode()
    for offset in range(3):
        # Only the characters whose 6 bits all come from ``value``: the ones before depend on
        # what precedes it, the last on what follows it.
        encoded = base64.b64encode(bytes(offset) + data).decode()
        start, end = -(-8 * offset // 6), (8 * offset + 8 * len(data)) // 6
        core = encoded[start:end]
        forms |= {core, core.translate(str.maketrans("+/", "-_"))}
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])
