"""``symcheck form TARGET``: does a model have the attention form (Ma & Ying 2022)?"""

from __future__ import annotations

from typing import Annotated

import typer

from symcheck.cli import options as opt
from symcheck.cli.common import EXIT_FAIL, EXIT_OK, run
from symcheck.cli.equivariance import BackendName

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
Rtol = Annotated[float | None, typer.Option(metavar="X", help=FORM_RTOL_HELP)]


def register(app: typer.Typer) -> None:
    app.command("form", help=HELP)(form)


def form(
    target: Target,
    inputs: opt.Inputs = None,
    outputs: opt.Outputs = None,
    groups: opt.Groups = None,
    size: opt.Sizes = None,
    trials: opt.Trials = None,
    seed: opt.Seed = 0,
    rtol: Rtol = None,
    span_rtol: SpanRtol = None,
    dtype: opt.Dtype = "float64",
    weights: Weights = "cotransform",
    json_path: opt.Json = None,
    data: opt.Data = None,
    backend: BackendName = None,
    debug: opt.Debug = False,
) -> None:
    def body() -> int:
        from symcheck.app.service import prepare, run_form
        from symcheck.cli.equivariance import load_inputs
        from symcheck.core.errors import InputFileError
        from symcheck.core.files import write_json
        from symcheck.core.signature import Signature
        from symcheck.core.specs import parse_sizes
        from symcheck.report.form import THEOREM, render
        from symcheck.sources.python import load_python, split_target

        path, _ = split_target(target)
        if path.suffix != ".py":
            raise InputFileError(
                f"TARGET: {target!r} is not a Python file; form checks model.py or "
                "model.py:NAME (for saved weights use: symcheck equivariance FILE)"
            )
        loaded = load_python(target)
        signature = (loaded.signature or Signature()).merged(
            inputs=inputs, outputs=outputs, groups=groups, sizes=parse_sizes(size),
            trials=trials, rtol=rtol,
        )
        arrays = load_inputs(data, loaded.obj, len(signature.inputs)) if data else None
        problem, weight_inputs, checked = prepare(
            loaded.obj, signature, dtype=dtype, data=arrays, weights=weights, name=loaded.name,
            namespace=loaded.namespace, backend=backend,
        )
        result = run_form(problem, checked, seed, weights=weights, weight_inputs=weight_inputs,
                          span_rtol=span_rtol)
        if json_path is not None:
            write_json(json_path, {"theorem": THEOREM, **result.to_dict()})
        render(result, to_stderr=json_path == "-")
        return EXIT_OK if result.holds else EXIT_FAIL

    run(body, debug)
