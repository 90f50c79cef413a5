"""``symcheck check``: run every check declared in pyproject.toml or symcheck.toml (a CI gate)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from symcheck.cli import common as opt
from symcheck.cli.common import EXIT_FAIL, EXIT_OK, run

if TYPE_CHECKING:
    from symcheck.core.errors import Wording

HELP = (
    "Run every check declared in the project's configuration: [[check]] tables in "
    "symcheck.toml, or [[tool.symcheck.check]] tables in pyproject.toml (the current "
    "directory's, or --config PATH). Paths in it are relative to its folder.\n\n"
    "Exit 0: every check passes; 1: a check fails (a symmetry is broken, or no hidden size up "
    "to max_d meets the precision) or could not run (its model does not import, raises, or "
    "returns the wrong shape: the other checks still run and it is reported as an error); 2: "
    "the configuration or the call is wrong (nothing is run; --debug shows tracebacks)."
)

Config = Annotated[
    Path | None,
    typer.Option("--config", metavar="PATH", help="symcheck.toml or pyproject.toml to read."),
]
Only = Annotated[
    list[str] | None,
    typer.Option("--only", metavar="NAME", help="Run only the check called NAME (repeat)."),
]
Junit = Annotated[
    str | None,
    typer.Option("--junit", metavar="PATH", help="Also write JUnit XML to PATH ('-': stdout).",
                 callback=opt.stdout_as_dash),
]
Github = Annotated[
    bool,
    typer.Option("--github", help="Print a GitHub Actions ::error annotation per failing check."),
]


def gate_wording() -> Wording:
    """A declared check's error as ``symcheck check`` shows it: in the configuration's keys,
    offering this command's ``--debug`` for a model's traceback."""
    from symcheck.app.config import ConfigWording
    from symcheck.cli.common import CLI

    class GateWording(ConfigWording):
        traceback = CLI.traceback

    return GateWording()


def register(app: typer.Typer) -> None:
    app.command("check", help=HELP)(check)


def check(
    config: Config = None,
    only: Only = None,
    junit: Junit = None,
    json_path: opt.Json = None,
    github: Github = False,
    debug: opt.Debug = False,
) -> None:
    def body() -> int:
        import sys

        from symcheck.app.checks import run_checks
        from symcheck.app.config import load_config
        from symcheck.cli.common import check_command, check_outputs, command
        from symcheck.core.files import all_or_nothing
        from symcheck.report import write_text
        from symcheck.report.check import (
            CommandLines,
            check_document,
            describe,
            github_annotations,
            render_summary,
        )
        from symcheck.report.json import write_json
        from symcheck.report.junit import write_junit

        check_outputs(inputs=[config], junit=junit, json=json_path)
        cfg = load_config(config)
        check_outputs(inputs=[cfg.path, *(c.path for c in cfg.checks)], junit=junit,
                      json=json_path)
        specs = cfg.select(only)
        commands = CommandLines(replay=command, rerun=check_command)
        runs = run_checks(specs, debug=debug, wording=gate_wording())
        outcomes = [describe(r, commands) for r in runs]
        with all_or_nothing():
            if junit is not None:
                write_junit(junit, outcomes)
            if json_path is not None:
                write_json(json_path, check_document(outcomes, cfg.display_path))
        # Whatever a machine reads from stdout ('-') keeps it; the table then goes to stderr.
        stdout_taken = "-" in (junit, json_path)
        render_summary(outcomes, cfg.display_path, to_stderr=stdout_taken)
        if github:
            stream = sys.stderr if stdout_taken else sys.stdout
            write_text(stream, "".join(line + "\n" for line in github_annotations(outcomes)))
        return EXIT_OK if all(o.passed for o in outcomes) else EXIT_FAIL

    run(body, debug)
