"""What every sub-command shares: turning errors into one line and exit code 2."""

from __future__ import annotations

import shlex
import sys
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

import typer

from symcheck.core.errors import SymcheckError, Wording

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliWording(Wording):
    """Errors as the command line words them: ``--size: …; pass e.g. --size d=8``."""

    door = "cli"
    FLAGS: ClassVar[dict[str, str]] = {
        "inputs": "--in", "outputs": "--out", "groups": "--group", "sizes": "--size",
        "trials": "--trials", "seed": "--seed", "rtol": "--rtol", "dtype": "--dtype",
        "case": "--case", "search": "--search", "backend": "--backend", "data": "--inputs",
        "weights": "--weights", "layer": "--layer", "heads": "--heads",
        "component": "--component", "span_rtol": "--span-rtol", "json": "--json",
        "junit": "--junit", "config": "--config", "only": "--only", "specs": "--in/--out",
        "element": "counterexample", "batch": "--batch",
    }

    def name(self, argument: str) -> str:
        return self.FLAGS.get(argument, f"--{argument.replace('_', '-')}")

    def example(self, argument: str, value: Any) -> str:
        flag = self.name(argument)
        if isinstance(value, dict):
            return f"{flag} " + ",".join(f"{k}={v}" for k, v in value.items())
        if isinstance(value, list | tuple):
            return " ".join(f"{flag} {shlex.quote(str(v))}" for v in value)
        return f"{flag} {shlex.quote(str(value))}"


CLI = CliWording()


def one_line(text: str) -> str:
    """Collapse a message onto one line (messages may quote multi-line reprs)."""
    return " ".join(str(text).split())


def run(body: Callable[[], int], debug: bool = False) -> int:
    """Run a command body and map its outcome to the exit-code contract.

    ``body`` returns 0 (property holds) or 1 (it does not). A :class:`SymcheckError` becomes
    one line on stderr and exit 2; so does any unexpected exception, marked as an internal
    error. With ``debug`` the traceback is printed first.
    """
    try:
        code = body()
    except SymcheckError as exc:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"symcheck: error: {one_line(exc.worded(CLI))}\n")
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        sys.stderr.write("symcheck: interrupted\n")
        raise typer.Exit(130) from None
    except Exception as exc:
        # A bug of symcheck's own must not read as "symmetry broken" (exit 1) in a CI gate,
        # nor dump a traceback on the user: one line, exit 2, the traceback under --debug.
        if debug:
            traceback.print_exc()
        sys.stderr.write(
            f"symcheck: internal error: {type(exc).__name__}: {one_line(str(exc))} "
            "(rerun with --debug for the traceback)\n"
        )
        raise typer.Exit(EXIT_USAGE) from None
    raise typer.Exit(code)


DEBUG_HELP = "Show the full traceback of an error instead of one line."
JSON_HELP = "Also write the report as JSON to PATH ('-' for stdout; the table then goes to stderr)."
