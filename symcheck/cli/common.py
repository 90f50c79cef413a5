"""What every sub-command shares: turning errors into one line and exit code 2, the options every
command declares alike, and the reproduction recipe in the command line's words.

**Options**: command-line options shared by every command that checks a model (``equivariance``,
``form``, ...), as ``Annotated`` aliases so each command declares them identically.

The measurement options are not written here: :func:`with_measure` reads their declarations
(:class:`symcheck.core.options.Measure`) and adds them to a command, which receives them as
one ``measure`` value.

**Reproduction**: the reproduction recipe in the command line's words: the flags that replay the
worst case, and a ``symcheck check --only`` line (the Python API words it as a call, in
:mod:`symcheck.api`). Flags are the command line's own: the report layer gets these lines
finished.

>>> from symcheck.app.outcomes import Reproduction
>>> from symcheck.core.caseid import CaseId, GroupSet
>>> r = Reproduction(kind="model", target="m.py:f", name="f", inputs=("n d",),
...                  outputs=("n d",), groups=("S(n)",), sizes={"n": 4, "d": 2},
...                  case=CaseId(GroupSet(("S(n)",)), "haar", 3))
>>> print(command(r).replace(" --", "\\n--"))
symcheck equivariance m.py:f
--in 'n d'
--out 'n d'
--group 'S(n)'
--size n=4,d=2
--seed 0
--trials 20
--case 'S(n)/haar:3'
"""

from __future__ import annotations

import functools
import inspect
import shlex
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, NoReturn, get_type_hints

import typer

from symcheck.core.caseid import CaseId
from symcheck.core.errors import SymcheckError, Wording, speaking
from symcheck.core.options import Measure, declared, parameters

if TYPE_CHECKING:
    from symcheck.app.outcomes import Reproduction

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

Target = Annotated[
    str, typer.Argument(metavar="TARGET", help="model.py, model.py:NAME, or a weights file.")
]
Inputs = Annotated[
    list[str] | None,
    typer.Option(
        "--in", metavar="[NAME=]SPEC",
        help="Axis spec of one input, e.g. 'n d' or 'n c:point' (positional, in order) or "
        "'inputs_embeds=b n d' (passed by keyword); repeat. An axis is label or label:rep, "
        "rep one of vector, axial, point, irreps(1x0e+1x1o).",
    ),
]
Outputs = Annotated[
    list[str] | None,
    typer.Option(
        "--out", metavar="[NAME=]SPEC",
        help="Axis spec of the output, e.g. 'n d' (repeat for tuples) or "
        "'last_hidden_state=b n d' (an attribute or key of what the model returns).",
    ),
]
Mask = Annotated[
    str | None,
    typer.Option("--mask", metavar="NAME",
                 help="The input (declared NAME=SPEC) whose True entries mark valid positions: "
                 "padding positions are not compared."),
]
PaddingMask = Annotated[
    str | None,
    typer.Option("--padding-mask", metavar="NAME",
                 help="The input whose True entries mark padding (torch's "
                 "src_key_padding_mask): those positions are not compared."),
]
Groups = Annotated[
    list[str] | None,
    typer.Option(
        "--group", "-g", metavar="GROUP",
        help="Group acting on a label: O(d), SO(d), S(n), C(n), E(d), SE(d), T(d) (repeat)."
    ),
]
Sizes = Annotated[
    list[str] | None,
    typer.Option("--size", metavar="L=N,...", help="Axis sizes, e.g. n=16,d=32."),
]
def stdout_as_dash(path: str | None) -> str | None:
    """An output path that is our own stdout by another name (``/dev/stdout``,
    ``/proc/self/fd/1``, the file stdout is redirected to) is ``-``: the document then goes
    to stdout and the table to stderr, as for ``-``."""
    from symcheck.core.files import is_stdout

    return "-" if path is not None and path != "-" and is_stdout(path) else path


Json = Annotated[str | None, typer.Option("--json", metavar="PATH", help=JSON_HELP,
                                          callback=stdout_as_dash)]
Data = Annotated[
    Path | None,
    typer.Option("--inputs", metavar="NPZ", help="An .npz of real inputs instead of random ones."),
]
Debug = Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)]
SaveCounterexample = Annotated[
    str | None,
    typer.Option(
        "--save-counterexample", metavar="PATH",
        help="On failure, save the worst case (inputs, element, outputs) to PATH.npz for "
        "'symcheck replay'.",
    ),
]
BackendName = Annotated[
    str | None,
    typer.Option("--backend", metavar="NAME",
                 help="Run the model with numpy, torch or jax (default: chosen from the model)."),
]


def flag(name: str) -> str:
    """The command line's spelling of a declared option: ``--trials``."""
    return f"--{dict(declared())[name].flag}"


def measure_option(name: str, help: str | None = None) -> Any:
    """The ``Annotated`` typer option of the declared measurement option ``name``."""
    spec = dict(declared())[name]
    hint = get_type_hints(Measure)[name]
    decls = [f"--{spec.flag}/--no-{spec.flag}"] if hint is bool else [f"--{spec.flag}"]
    return Annotated[hint, typer.Option(*decls, metavar=spec.metavar, help=help or spec.help)]


def with_measure(*names: str, help: Mapping[str, str] | None = None
                 ) -> Callable[[Callable[..., int]], Callable[..., None]]:
    """Make a command that checks a model: give it the declared measurement options ``names``
    (every one when none is named) as parameters, received as one ``measure: Measure``
    (``help`` rewords an option for this command), and ``--debug`` last; the command returns
    its exit code, and an error it raises is one line and exit 2 (:func:`run`)."""
    chosen = names or tuple(n for n, _ in declared())

    def add(command: Callable[..., int]) -> Callable[..., None]:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "measure"]
        extra = parameters(chosen, lambda n, _: measure_option(n, (help or {}).get(n)))
        debug = inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False,
                                  annotation=Debug)

        @functools.wraps(command)
        def cli_command(*args: Any, **kwargs: Any) -> None:
            from symcheck.cli.common import run

            measure = Measure(**{n: kwargs.pop(n) for n in chosen})
            shown = kwargs.pop("debug")
            run(lambda: command(*args, measure=measure, **kwargs), shown)

        cli_command.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*own, *extra, debug], return_annotation=None)
        return cli_command

    return add

def command(r: Reproduction) -> str | None:
    """The ``symcheck`` command that replays the worst failing case (None: nothing fails, or
    the check has no command line, e.g. an in-memory callable)."""
    if r.case is None or r.target is None:
        return None
    if r.kind == "weights":
        return _weights_command(r, r.case)
    args = ["symcheck", "equivariance", r.target]
    for spec in r.inputs:
        args += ["--in", str(spec)]
    for spec in r.outputs:
        args += ["--out", str(spec)]
    for group in r.groups:
        args += ["--group", str(group)]
    args += ["--size", ",".join(f"{k}={v}" for k, v in r.sizes.items())]
    args += measure_flags(r.measure)
    if r.data is not None:
        args += ["--inputs", r.data]
    if r.mask is not None:
        args += ["--mask", r.mask]
    if r.padding_mask is not None:
        args += ["--padding-mask", r.padding_mask]
    args += ["--case", r.case.ref]
    if r.backend is not None:
        args += ["--backend", r.backend]
    return shlex.join(args)


def measure_flags(m: Measure) -> list[str]:
    """The flags of the measurement options a replay repeats: seed and trials always, then
    every declared option that differs from its default (the case is the caller's).

    >>> measure_flags(Measure(seed=3, trials=20, probes=False, rtol=1e-6))
    ['--seed', '3', '--trials', '20', '--rtol', '1e-06', '--no-probes']
    """
    args = [flag("seed"), str(m.seed), flag("trials"), str(m.trials)]
    for name, value in m.changed().items():
        if name in ("seed", "trials", "case"):
            continue
        if isinstance(value, bool):
            args.append(flag(name) if value else flag(name).replace("--", "--no-", 1))
        else:
            args += [flag(name), repr(value) if isinstance(value, float) else str(value)]
    return args


def _weights_command(r: Reproduction, case: CaseId) -> str:
    w = r.weights
    args = ["symcheck", "equivariance", str(r.target)]
    if w.get("layer"):
        args += ["--layer", str(w["layer"])]
    if w.get("heads") is not None:
        args += ["--heads", str(w["heads"])]
    for group in r.groups:
        args += ["--group", str(group)]
    args += ["--size", f"n={r.sizes.get('n')}", *measure_flags(r.measure),
             "--weights", str(w["mode"])]
    if w.get("layer") != "all":
        args += ["--component", str(w["component"])]
    if w.get("fold"):
        args += ["--fold-norms"]
    args += ["--case", case.ref]
    return shlex.join(args)


def check_command(name: str, config: str | None) -> str:
    """``symcheck check [--config PATH] --only NAME``: the declared check ``name`` alone.

    >>> check_command("attention", "ci/a b.toml")
    "symcheck check --config 'ci/a b.toml' --only attention"
    """
    args = ["symcheck", "check"]
    if config is not None:
        args += ["--config", config]
    return shlex.join([*args, "--only", name])
