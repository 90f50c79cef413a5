"""What every sub-command shares: turning errors into one line and exit code 2."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

import typer

from symcheck.core.errors import SymcheckError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


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
        sys.stderr.write(f"symcheck: error: {one_line(str(exc))}\n")
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
