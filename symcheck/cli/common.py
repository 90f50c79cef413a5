"""What every sub-command shares: turning errors into one line and exit code 2."""

from __future__ import annotations

import shlex
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NoReturn

import typer

from symcheck.core.errors import SymcheckError, Wording, speaking
from symcheck.core.options import declared

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliWording(Wording):
    """Errors as the command line words them: ``--size: …; pass e.g. --size d=8``."""

    door = "cli"
    FLAGS: ClassVar[dict[str, str]] = {
        **{name: f"--{option.flag}" for name, option in declared()},
        "inputs": "--in", "outputs": "--out", "groups": "--group", "sizes": "--size",
        "backend": "--backend", "data": "--inputs",
        "weights": "--weights", "layer": "--layer", "heads": "--heads",
        "component": "--component", "span_rtol": "--span-rtol", "json": "--json",
        "junit": "--junit", "config": "--config", "only": "--only", "specs": "--in/--out",
        "save_counterexample": "--save-counterexample", "save": "--save",
        "mask": "--mask", "padding_mask": "--padding-mask",
        "element": "counterexample", "plot": "--plot",
        "family": "FAMILY", "debug": "--debug", "fold_norms": "--fold-norms",
        "breakdown": "--breakdown",
        # sparse-approx and sparse-sweep
        "method": "--method", "seeds_per_d": "--seeds", "max_d": "--max-d",
        "time_limit": "--time-limit", "precision": "--precision",
        "ratio_precision": "--ratio-precision", "leak_precision": "--leak-precision",
        "verify": "--verify", "lengths": "--lengths", "methods": "--methods", "k": "--k",
    }
    traceback = "--debug shows the traceback"

    def name(self, argument: str) -> str:
        return self.FLAGS.get(argument, argument)

    def example(self, argument: str, value: Any) -> str:
        flag = self.name(argument)
        if isinstance(value, bool):  # a switch: --batch / --no-batch
            return flag if value else flag.replace("--", "--no-", 1)
        if isinstance(value, dict):
            return f"{flag} " + ",".join(f"{k}={v}" for k, v in value.items())
        if isinstance(value, list | tuple):
            return " ".join(f"{flag} {shlex.quote(str(v))}" for v in value)
        return f"{flag} {shlex.quote(str(value))}"


CLI = CliWording()


#: the one place verdicts become exit codes
EXIT_CODES: dict[str, int] = {
    "pass": EXIT_OK, "fail": EXIT_FAIL, "non-finite": EXIT_FAIL, "inconclusive": EXIT_FAIL,
    "error": EXIT_USAGE,
}


def exit_code(verdict: str) -> int:
    """0 the property holds, 1 it does not (or could not be shown), 2 the check could not run."""
    return EXIT_CODES[str(verdict)]


def check_outputs(inputs: Sequence[object] = (), **paths: object) -> None:
    """Every output path of a command, checked before any work (argument name = keyword): its
    folder exists; no two outputs share a path or stdout; no output is one of the ``inputs``
    (``--json model.py`` would destroy the model)."""
    from pathlib import Path

    from symcheck.core.errors import InputFileError
    from symcheck.core.files import check_output_path, same_file

    given = {k: str(v) for k, v in paths.items() if v is not None}
    if list(given.values()).count("-") > 1:
        names = " and ".join(CLI.name(k) for k, v in given.items() if v == "-")
        raise InputFileError(f"{names}: only one of them can write to stdout ('-')")
    files = [(k, v) for k, v in given.items() if v != "-"]
    for i, (argument, path) in enumerate(files):
        check_output_path(path, argument)
        for other, earlier in files[:i]:
            if Path(path).resolve() == Path(earlier).resolve():
                raise InputFileError(f"{path!r} is also the {CLI.name(other)} output; give "
                                     "each output its own file", argument=argument, value=path)
        for source in inputs:
            if source is not None and Path(str(source)).exists() and same_file(path,
                                                                               str(source)):
                raise InputFileError(f"{path!r} is one of the inputs; writing it would destroy "
                                     "it", argument=argument, value=path)


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
        with speaking(CLI):
            code = body()
    except KeyboardInterrupt:
        sys.stderr.write("symcheck: interrupted\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except SystemExit as exc:
        # Only code outside symcheck's own can end a command this way (the model layer turns
        # a model's sys.exit into a model error): never let it pass for a verdict.
        _usage_error(f"error: the run was ended by SystemExit({exc.code!r}) from the code "
                     "under test")
    except Exception as exc:
        if debug:
            traceback.print_exc()
        _usage_error(_one_line_for(exc))
    raise typer.Exit(code)


def _one_line_for(exc: Exception) -> str:
    """What an error says after ``symcheck: ``: an input error as the command line words it,
    memory running out, or a bug of symcheck's own (which must not read as "symmetry broken",
    exit 1, in a CI gate, nor dump a traceback on the user)."""
    if isinstance(exc, SymcheckError):
        return f"error: {one_line(exc.worded(CLI))}"
    if isinstance(exc, MemoryError):
        return f"error: not enough memory for this check ({one_line(str(exc))}); try smaller sizes"
    return (f"internal error: {type(exc).__name__}: {one_line(str(exc))} (rerun with --debug "
            "for the traceback)")


def _usage_error(line: str) -> NoReturn:
    sys.stderr.write(f"symcheck: {line}\n")
    raise typer.Exit(EXIT_USAGE) from None


DEBUG_HELP = "Show the full traceback of an error instead of one line."
JSON_HELP = "Also write the report as JSON to PATH ('-' for stdout; the table then goes to stderr)."
