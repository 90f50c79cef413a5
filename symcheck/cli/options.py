"""Command-line options shared by every command that checks a model (``equivariance``,
``form``, ...), as ``Annotated`` aliases so each command declares them identically."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from symcheck.cli.common import DEBUG_HELP, JSON_HELP

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
Trials = Annotated[
    int | None, typer.Option(metavar="N", help="Haar-random draws per group (default 20).")
]
Seed = Annotated[
    int, typer.Option(metavar="N", min=0, help="Seed of every random draw (printed).")
]
Rtol = Annotated[
    float | None,
    typer.Option(metavar="X", help="Tolerance on the relative error (default: by dtype)."),
]
Dtype = Annotated[
    str,
    typer.Option(
        metavar="DTYPE",
        help="Precision the model runs in: float64, float32, float16 (bfloat16: torch/jax).",
    ),
]
Json = Annotated[str | None, typer.Option("--json", metavar="PATH", help=JSON_HELP)]
Data = Annotated[
    Path | None,
    typer.Option("--inputs", metavar="NPZ", help="An .npz of real inputs instead of random ones."),
]
Case = Annotated[
    str | None,
    typer.Option(metavar="GROUP/CASE", help="Replay one case only, e.g. 'O(d)/haar:3'."),
]
Debug = Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)]
Search = Annotated[
    int,
    typer.Option(
        metavar="[STEPS]",
        help="After the cases, search inputs and group elements together for a worse case "
        "(from the worst cases and probes; widens on a plateau). --search alone: 200 steps per "
        "group; --search N: N.",
    ),
]
Probes = Annotated[
    bool,
    typer.Option(
        "--probes/--no-probes",
        help="Input probes (one-hot, repeated and zero tokens, ×1e±6 scales, rank-one) and size "
        "probes (n = 1, 2, 4n+1) beside the Haar draws (default: on).",
    ),
]
Batch = Annotated[
    bool,
    typer.Option(
        "--batch/--no-batch",
        help="Run all cases in one model call when the specs lead with a batch axis 'b'.",
    ),
]
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
Timeout = Annotated[
    float | None,
    typer.Option(metavar="SECONDS",
                 help="Stop the check (and exit 2) if it takes longer: a model that hangs at "
                 "import or in a call."),
]
