"""Command-line options shared by every command that checks a model (``equivariance``,
``form``, ...), as ``Annotated`` aliases so each command declares them identically.

The measurement options are not written here: :func:`with_measure` reads their declarations
(:class:`symcheck.core.options.Measure`) and adds them to a command, which receives them as
one ``measure`` value.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer

from symcheck.cli.common import DEBUG_HELP, JSON_HELP
from symcheck.core.options import Measure, declared, parameters

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
Json = Annotated[str | None, typer.Option("--json", metavar="PATH", help=JSON_HELP)]
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
