"""``symcheck equivariance TARGET``: check a model file's (or saved weights') symmetries."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from symcheck.cli import common as opt
from symcheck.cli.common import exit_code
from symcheck.core.options import Measure

HELP = (
    "Check that f(g·x) = g·f(x) for the groups acting on a model's axes.\n\n"
    "TARGET is model.py, model.py:NAME, or saved weights. Specs and groups come from the "
    "file's @symcheck.equivariant(...) declaration or from --in/--out/--group/--size.\n\n"
    "Exit 0: every group (and their product) is within tolerance; 1: a symmetry is broken or "
    "the model returned NaN/Inf; 2: bad input, or the model could not run.\n\n"
    "Saved weights (.npz, .safetensors, .pt): a reference multi-head attention (with LayerNorm "
    "and feed-forward when the file has them) is built from the file; d comes from the weights, "
    "--size n=N sets the test sequence length, groups default to S(n) and O(d). With "
    "--weights cotransform every weight axis in the embedding space turns with the tokens."
)

Layer = Annotated[str | None, typer.Option(
    metavar="PREFIX", help="Weights: the layer to check, e.g. encoder.layer.3 (default: first), "
    "or all: the whole stack in order, as one function.")]
FoldNorms = Annotated[bool, typer.Option(
    "--fold-norms", help="Weights: fold the norm gains (and exact biases) into the following "
    "linear layers first, as SliceGPT/QuaRot do; the report says what folded and what cannot "
    "(LayerNorm's mean-centring).")]
Breakdown = Annotated[bool, typer.Option(
    "--breakdown", help="Weights: the full per-part table in every mode (default: only the "
    "parts needed to name the cause of a failure).")]
Heads = Annotated[int | None, typer.Option(
    metavar="H", help="Weights: number of attention heads (default: config.json beside the file).")]
WeightsMode = Annotated[str | None, typer.Option(
    "--weights", metavar="MODE",
    help="Weights: cotransform (turn with the embedding; default) or fixed.")]
Component = Annotated[str | None, typer.Option(
    metavar="PART",
    help="Weights: attention (core) or block (with LayerNorm and feed-forward; default).")]


def register(app: typer.Typer) -> None:
    app.command("equivariance", help=HELP)(equivariance)


@opt.with_measure()
def equivariance(
    target: opt.Target,
    inputs: opt.Inputs = None,
    outputs: opt.Outputs = None,
    groups: opt.Groups = None,
    size: opt.Sizes = None,
    json_path: opt.Json = None,
    data: opt.Data = None,
    layer: Layer = None,
    heads: Heads = None,
    weights: WeightsMode = None,
    component: Component = None,
    fold_norms: FoldNorms = False,
    breakdown: Breakdown = False,
    backend: opt.BackendName = None,
    save_counterexample: opt.SaveCounterexample = None,
    mask: opt.Mask = None,
    padding_mask: opt.PaddingMask = None,
    *,
    measure: Measure,
) -> int:
    from symcheck.app.requests import Declared, WeightsChoice, for_target
    from symcheck.app.service import run as serve
    from symcheck.cli.common import check_outputs
    from symcheck.core.specs import parse_sizes
    from symcheck.sources.python import split_target

    check_outputs(inputs=[split_target(target)[0], data], json=json_path,
                  save_counterexample=save_counterexample)
    request = for_target(
        target,
        Declared.parse(inputs, outputs, groups, parse_sizes(size) or None, mask, padding_mask),
        measure, backend=backend, data=data,
        weights=WeightsChoice(layer, heads, weights, component, fold_norms, breakdown),
        model_only={"save_counterexample": save_counterexample},
    )
    outcome = serve(request)
    if outcome.kind == "stack":
        return show_stack(outcome, json_path)
    if outcome.kind == "weights":
        return show_weights(outcome, json_path)
    return show_model(outcome, json_path, save_counterexample)



def show_model(outcome: object, json_path: str | None, save_counterexample: str | None) -> int:
    """Write the outputs and render the report of a model check; the exit code."""
    from symcheck.app.outcomes import Outcome
    from symcheck.cli.common import command
    from symcheck.core.files import all_or_nothing
    from symcheck.report.equivariance import render, render_saved

    assert isinstance(outcome, Outcome)
    replay = None if outcome.reproduction is None else command(outcome.reproduction)
    saved = None
    with all_or_nothing():  # each writer is imported only when its file is asked for
        if save_counterexample is not None:
            from symcheck.app.counterexample import save_outcome

            saved = save_outcome(save_counterexample, outcome)
        if json_path is not None:
            from symcheck.report.json import write_json

            payload = outcome.result.to_dict()
            payload["replay"] = replay
            payload["counterexample"] = saved
            write_json(json_path, payload)
    render(outcome.result, replay, to_stderr=json_path == "-")
    if saved is not None:
        render_saved(saved, to_stderr=json_path == "-")
    return exit_code(outcome.verdict)


def _json_and_replay(outcome: object, json_path: str | None) -> str | None:
    """Write the JSON report (with the replay command) when asked; the replay command."""
    from symcheck.app.outcomes import Outcome
    from symcheck.cli.common import command
    from symcheck.report.json import write_json

    assert isinstance(outcome, Outcome)
    replay = None if outcome.reproduction is None else command(outcome.reproduction)
    if json_path is not None:
        payload = outcome.result.to_dict()
        payload["replay"] = replay
        write_json(json_path, payload)
    return replay


def show_weights(outcome: Any, json_path: str | None) -> int:
    """Write the outputs and render the report of a weights check; the exit code."""
    from symcheck.report.weights import render

    replay = _json_and_replay(outcome, json_path)
    render(outcome.result, replay, to_stderr=json_path == "-")
    return exit_code(outcome.verdict)


def show_stack(outcome: Any, json_path: str | None) -> int:
    """The whole stack: its layers, what folding did, and the check's report."""
    from symcheck.report.equivariance import render, render_stack

    replay = _json_and_replay(outcome, json_path)
    render_stack(outcome.result, to_stderr=json_path == "-")
    render(outcome.result.result, replay, to_stderr=json_path == "-")
    return exit_code(outcome.verdict)
