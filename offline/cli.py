"""Berth without the Pulumi CLI: plan or diff a deployment offline, print the compatibility table.

Exit codes: 0 on success, 2 with one line on stderr for any compose or config problem, 1 when
run by a Python without Berth's requirements (scripts/berth runs it in the project's .venv).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from berth.errors import BerthError
from berth.settings import DEFAULT_TARGET
from berth.terms import Terms

EXIT_BAD_INPUT = 2
EXIT_NO_REQUIREMENTS = 1


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


class _OneLineParser(argparse.ArgumentParser):
    """Usage mistakes end like every other bad input: one line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see {self.prog} --help).\n")


def parser() -> argparse.ArgumentParser:
    root = _OneLineParser(
        prog="python -m berth",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    plan = commands.add_parser(
        "plan",
        help="show what `pulumi up` would deploy, offline",
        description="Run the real program under Pulumi's mock engine and print the plan.",
    )
    plan.add_argument(
        "-f",
        "--file",
        action="append",
        dest="files",
        metavar="FILE",
        help="a compose file; later ones override earlier ones (default: compose.yaml)",
    )
    plan.add_argument(
        "--target", default=DEFAULT_TARGET, help=f"where to deploy (default: {DEFAULT_TARGET})"
    )
    plan.add_argument(
        "--profile",
        action="append",
        dest="profiles",
        default=[],
        metavar="NAME",
        help="a compose profile to enable",
    )
    plan.add_argument(
        "--set",
        action="append",
        type=_pair,
        default=[],
        metavar="KEY=VALUE",
        help="a compose variable, or a target setting",
    )
    plan.add_argument(
        "--secret",
        action="append",
        type=_pair,
        default=[],
        metavar="KEY=VALUE",
        help="a compose variable that is secret: printed as [secret]",
    )
    plan.add_argument("--stack", default="dev", help="stack name used in resource names")
    plan.add_argument(
        "--format",
        choices=("text", "mermaid", "json"),
        default="text",
        help="text (default), mermaid (the workflow alone: warnings go to stderr) or json",
    )
    diff = commands.add_parser(
        "diff",
        help="show which jobs a deployment will run, and why, offline",
        description="Plan the deployed (--base-root or --base) and the new (-f) compose files "
        "and compare them by the run-once resources' own re-run rule.",
    )
    base = diff.add_mutually_exclusive_group(required=True)
    base.add_argument(
        "--base-root",
        metavar="DIR",
        help="a checkout of the deployed commit (git worktree add DIR <commit>): the deployed "
        "files are the -f files at the same paths there; run from the root of this checkout",
    )
    base.add_argument(
        "--base",
        action="append",
        metavar="FILE",
        help="a deployed compose file itself, in another checkout of the project",
    )
    diff.add_argument("-f", "--file", action="append", dest="files", metavar="FILE")
    diff.add_argument(
        "--stack-config",
        metavar="FILE",
        help="a stack's config as `pulumi config --json --show-secrets` prints it ('-': stdin); "
        "flags override it",
    )
    diff.add_argument("--target")
    diff.add_argument("--profile", action="append", dest="profiles", default=[])
    diff.add_argument("--set", action="append", type=_pair, default=[], metavar="KEY=VALUE")
    diff.add_argument("--secret", action="append", type=_pair, default=[], metavar="KEY=VALUE")
    diff.add_argument("--stack", default="dev", help="stack name used in resource names")
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    run = commands.add_parser(
        "run",
        help="run a deployed job of the top-level jobs: once, streaming its log",
        description="Run JOB of the stack's compose jobs: once, as `docker compose run JOB` "
        "does; its exit code is this command's. ARGS after -- replace the job's command.",
    )
    run.add_argument("job", metavar="JOB")
    run.add_argument("args", nargs="*", metavar="ARGS", help="a command replacing the job's own")
    run.add_argument("--stack", "-s", help="the stack (default: the selected one)")
    run.add_argument(
        "--outputs",
        metavar="FILE",
        help="the stack's outputs as `pulumi stack output --json --show-secrets` prints them "
        "('-': stdin), instead of asking the Pulumi CLI",
    )
    commands.add_parser("compatibility", help="print docs/compatibility.md")
    commands.add_parser(
        "pulumi-config",
        help="print Pulumi.yaml's config section, made from the settings' classes",
        description="Every setting Berth reads, typed, described and with its default, as "
        "Pulumi.yaml's config section; it replaces that section when a setting changes.",
    )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    # Stopped by SIGTERM or SIGHUP, unwind as for Ctrl-C: a running Docker Compose child is
    # killed on the way out (subprocess.run does so for any exception), not left behind.
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _exit_on_signal)
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "compatibility":
            sys.stdout.write(compatibility())
            return 0
        if args.command == "pulumi-config":
            from berth.components.program import pulumi_config_yaml  # noqa: PLC0415 - slow

            sys.stdout.write(pulumi_config_yaml())
            return 0
        if args.command == "diff":
            return _diff(args)
        return _run(args) if args.command == "run" else _plan(args)
    except BerthError as error:
        return _refused(error, Terms.FLAGS)
    except ModuleNotFoundError as missing:  # a Python without Berth's requirements
        print(
            f"error: {missing.name} is not installed in {sys.executable}: run Berth in the "
            "project's environment, with scripts/berth (it makes .venv on first use).",
            file=sys.stderr,
        )
        return EXIT_NO_REQUIREMENTS


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """The command line; for ``run JOB [--stack S] -- ARGS``, ARGS are what follows ``--``,
    whole: argparse takes a positional list once, so after an option it refuses them."""
    given = list(argv)
    if given[:1] != ["run"] or "--" not in given:
        return parser().parse_args(given)
    cut = given.index("--")
    args = parser().parse_args(given[:cut])
    args.args = [*args.args, *given[cut + 1 :]]
    return args


def _refused(error: BerthError, terms: Terms) -> int:
    """Bad input: one line, its hint in ``terms``."""
    print(f"error: {error.message_in(terms)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _exit_on_signal(number: int, _frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + number)


def _plan(args: argparse.Namespace) -> int:
    from berth.offline.plan import plan_settings, run_plan  # noqa: PLC0415 - imports Pulumi, slowly
    from berth.offline.render import FORMATS, HOLDS_WARNINGS  # noqa: PLC0415

    settings = plan_settings(
        args.files or ["compose.yaml"],
        target=args.target,
        profiles=args.profiles,
        values=dict(args.set),
        secrets=dict(args.secret),
    )
    plan = run_plan({}, settings=settings, stack=args.stack)
    if args.format not in HOLDS_WARNINGS:
        for warning in plan.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    sys.stdout.write(FORMATS[args.format](plan))
    return 0


def _run(args: argparse.Namespace) -> int:
    from berth.offline.run import run, stack_outputs  # noqa: PLC0415 - imports Pulumi

    return run(args.job, args.args, stack_outputs(args.stack, args.outputs), sys.stdout)


def _diff(args: argparse.Namespace) -> int:
    """The stack config with the flags over it, read once as ``pulumi up`` reads it; a problem
    in a value only the stack config gave is hinted in its terms."""
    from berth.offline.diff import diff_files  # noqa: PLC0415 - imports Pulumi, slowly
    from berth.offline.diff_inputs import deployed_files, given_base, read_stack_config  # noqa: PLC0415
    from berth.offline.diff_report import FORMATS  # noqa: PLC0415
    from berth.settings import NAMESPACE, StackSettings  # noqa: PLC0415

    stored, stored_secrets = read_stack_config(args.stack_config) if args.stack_config else ({}, [])
    settings = {"composeFiles": args.files, "target": args.target, "profiles": args.profiles}
    given = {k: v if isinstance(v, str) else json.dumps(v) for k, v in settings.items() if v}
    given |= dict(args.set) | dict(args.secret)
    flags = {f"{NAMESPACE}:{key}": value for key, value in given.items()}
    secret_keys = [f"{NAMESPACE}:{key}" for key, _ in args.secret]
    secret_keys += [key for key in stored_secrets if key not in flags]
    config = {**stored, **flags}
    only_stored = {key.removeprefix(f"{NAMESPACE}:") for key in stored.keys() - flags.keys()}
    try:
        files = list(StackSettings.from_config(config, secret_keys).compose_files)
        base, notes = (
            (given_base(args.base), []) if args.base else deployed_files(args.base_root, files)
        )
        result = diff_files(base, files, config, secret_keys, stack=args.stack)
    except BerthError as error:
        return _refused(error, Terms(flags=True, stored=frozenset(only_stored)))
    sys.stdout.write(FORMATS[args.format](dataclasses.replace(result, notes=tuple(notes))))
    return 0


def compatibility() -> str:
    from berth.components.target import available_targets, load_target  # noqa: PLC0415
    from berth.fields import compatibility_markdown  # noqa: PLC0415

    targets = {name: load_target(name) for name in available_targets()}
    return compatibility_markdown(
        {name: target.FIELD_SUPPORT for name, target in targets.items()},
        {name: target.MODEL_PLATFORM for name, target in targets.items()},
    )
