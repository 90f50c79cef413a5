"""Command-line options shared by every command that checks a model (``equivariance``,
``form``, ...), as ``Annotated`` aliases so each command declares them identically."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from symcheck.cli.common import DEBUG_HELP, JSON_HELP

Target = Annotated[str, typer.Argument(help="model.py, model.py:NAME, or a weights file.")]
Inputs = Annotated[
    list[str] | None,
    typer.Option("--in", help="Axis spec of one positional input, e.g. 'n d' (repeat)."),
]
Outputs = Annotated[
    list[str] | None,
    typer.Option("--out", help="Axis spec of the output, e.g. 'n d' (repeat for tuples)."),
]
Groups = Annotated[
    list[str] | None,
    typer.Option("--group", "-g", help="Group acting on a label: O(d), SO(d), S(n), C(n)."),
]
Sizes = Annotated[list[str] | None, typer.Option("--size", help="Axis sizes, e.g. n=16,d=32.")]
Trials = Annotated[int | None, typer.Option(help="Haar-random draws per group (default 20).")]
Seed = Annotated[int, typer.Option(help="Seed of every random draw (printed).")]
Rtol = Annotated[
    float | None, typer.Option(help="Tolerance on the relative error (default: by dtype).")
]
Dtype = Annotated[str, typer.Option(help="Precision the model runs in: float64 or float32.")]
Json = Annotated[str | None, typer.Option("--json", help=JSON_HELP)]
Data = Annotated[
    Path | None, typer.Option("--inputs", help="An .npz of real inputs instead of random ones.")
]
Case = Annotated[str | None, typer.Option(help="Replay one case only, e.g. 'O(d)/haar:3'.")]
Debug = Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)]
