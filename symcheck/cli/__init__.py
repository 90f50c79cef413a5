"""The ``symcheck`` command line.

Each sub-command lives in its own module of this package and registers itself through a
``register(app)`` function; :data:`COMMAND_MODULES` is the registry. Command modules import
nothing heavy at module level (no numpy, scipy or rich) so that ``symcheck --help`` is fast.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Sequence

import typer

from symcheck.cli.common import one_line
from symcheck.core.errors import Terminated
from symcheck.core.signature import DEFAULT_SEARCH

COMMAND_MODULES: tuple[str, ...] = ("equivariance", "form", "check", "replay", "sparse")

app = typer.Typer(
    name="symcheck",
    help="Numerical verification of the symmetries of sequence models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: the rich help formatter alone costs ~120 ms
    context_settings={"help_option_names": ["-h", "--help"]},
)



def _version(value: bool) -> None:
    if value:
        from symcheck import __version__

        sys.stdout.write(f"symcheck {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Numerical verification of the symmetries of sequence models.

    Exit codes: 0 the checked property holds, 1 it does not, 2 the input or the call is wrong.
    """


for _name in COMMAND_MODULES:
    importlib.import_module(f"symcheck.cli.{_name}").register(app)


#: options whose value may be left out, and the value they then take
OPTIONAL_VALUES = {"--search": str(DEFAULT_SEARCH)}


def optional_values(args: list[str]) -> list[str]:
    """``--search`` with no number becomes ``--search 200`` (the parser needs a value).

    >>> optional_values(["equivariance", "m.py", "--search", "--seed", "3"])
    ['equivariance', 'm.py', '--search', '200', '--seed', '3']
    >>> optional_values(["equivariance", "m.py", "--search", "50"])
    ['equivariance', 'm.py', '--search', '50']
    """
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg in OPTIONAL_VALUES:
            following = args[i + 1] if i + 1 < len(args) else None
            if following is None or not following.lstrip("-").isdigit():
                out.append(OPTIONAL_VALUES[arg])
    return out


def _terminate_cleanly() -> None:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum: int, frame: object) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``symcheck`` console script; exits with 0, 1 or 2.

    Usage errors from the argument parser are reduced to one line (exit 2), like every other
    input error, instead of the multi-line box the parser draws by default.
    """
    args = optional_values(list(sys.argv[1:] if argv is None else argv))
    _terminate_cleanly()
    try:
        code = app(args=args, standalone_mode=False)
    except Terminated:
        sys.stderr.write("symcheck: terminated\n")
        sys.exit(143)
    except typer.Abort:
        sys.stderr.write("symcheck: aborted\n")
        sys.exit(130)
    except Exception as exc:
        # The parser's own errors (bad option value, missing argument); typer raises click's
        # exception classes or its vendored copies, so they are recognised by their interface.
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `symcheck`: the help, readable
            sys.stderr.write(exc.format_message().rstrip() + "\n")
            sys.exit(2)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        sys.stderr.write(f"symcheck: error: {one_line(exc.format_message())}{hint}\n")
        sys.exit(2)
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> None:
    """Exit with ``code``, also when model code left a thread running that would keep the
    process alive after the report (a busy non-daemon thread: a hang at exit)."""
    import os
    import threading

    if any(t.is_alive() and not t.daemon and t is not threading.main_thread()
           for t in threading.enumerate()):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)
