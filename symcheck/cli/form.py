"""``symcheck form TARGET``: does a model have the attention form (Ma & Ying 2022)?"""

from __future__ import annotations

from typing import Annotated

import typer

from symcheck.cli import common as opt
from symcheck.cli.common import exit_code
from symcheck.core.options import Measure

HELP = (
    "Measure whether f(X, K) = C_X·X + C_K·K with coefficients that depend only on inner "
    "products (the attention form an O(d)-equivariant seq2seq function must have).\n\n"
    "TARGET and the spec options are those of 'symcheck equivariance'. Inputs whose spec "
    "carries the embedding label (d) are vectors: the first is X, the rest are the knowledge "
    "K ('d k' weights contribute their columns). Parameters with array default values are the "
    "model's weights, fixed in every draw. Reports the span residual, the invariance of the "
    "least-squares coefficients under random Q, their permutation covariance (when S(n) is "
    "declared) and how attention-like they are; when d < n + m only what stays valid.\n\n"
    "Exit 0: span residual and coefficient diagnostics within tolerance; 1: not (or NaN/Inf); "
    "2: bad input."
)

Target = Annotated[
    str, typer.Argument(metavar="TARGET", help="model.py or model.py:NAME (a Python file).")
]
Weights = Annotated[
    str,
    typer.Option(
        metavar="MODE",
        help="cotransform (default): array-default weights turn with Q and join K (weights as "
        "knowledge); fixed: they stay still and stay out of Z.",
    ),
]
SpanRtol = Annotated[
    float | None,
    typer.Option(metavar="X", help="Tolerance of the span residual alone (default: --rtol)."),
]
FORM_RTOL_HELP = "Tolerance of the span residual and coefficient diagnostics (default 1e-8)."


def register(app: typer.Typer) -> None:
    app.command("form", help=HELP)(form)


@opt.with_measure("seed", "trials", "rtol", "dtype", "timeout",
                  help={"rtol": FORM_RTOL_HELP})
def form(
    target: Target,
    inputs: opt.Inputs = None,
    outputs: opt.Outputs = None,
    groups: opt.Groups = None,
    size: opt.Sizes = None,
    span_rtol: SpanRtol = None,
    weights: Weights = "cotransform",
    json_path: opt.Json = None,
    data: opt.Data = None,
    backend: opt.BackendName = None,
    *,
    measure: Measure,
) -> int:
    from symcheck.app.requests import Declared, FormRequest
    from symcheck.app.service import run as serve
    from symcheck.cli.common import check_outputs
    from symcheck.core.errors import InputFileError
    from symcheck.core.specs import parse_sizes
    from symcheck.report.form import THEOREM, render
    from symcheck.report.json import write_json
    from symcheck.sources.python import split_target

    path, _ = split_target(target)
    check_outputs(inputs=[path, data], json=json_path)
    if path.suffix != ".py":
        raise InputFileError(
            f"{target!r} is not a Python file; form checks model.py or model.py:NAME (for "
            "saved weights use: symcheck equivariance FILE)", argument="TARGET",
        )
    outcome = serve(FormRequest(
        target=target,
        declared=Declared.parse(inputs, outputs, groups, parse_sizes(size) or None),
        measure=measure,
        backend=backend,
        data=data, weights=weights, span_rtol=span_rtol,
    ))
    if json_path is not None:
        write_json(json_path, {"theorem": THEOREM, **outcome.result.to_dict()})
    render(outcome.result, to_stderr=json_path == "-")
    return exit_code(outcome.verdict)

