"""``symcheck replay CASE.npz [TARGET]``: re-run a saved counterexample."""

from __future__ import annotations

from typing import Annotated

import typer

from symcheck.cli import common as opt
from symcheck.cli.common import exit_code
from symcheck.core.options import Measure

HELP = (
    "Re-run a counterexample saved by 'symcheck equivariance --save-counterexample'.\n\n"
    "The stored inputs and group element go through the model as it is now: TARGET, or the "
    "model file named in the counterexample when it lies next to the counterexample file (the "
    "report says which file ran). Exit 1 while the error is still above the tolerance (the bug "
    "is there), 0 once it is fixed, 2 on bad input or a file that cannot be replayed (an "
    "element that is not a member of its group, a file saved for another model)."
)


def register(app: typer.Typer) -> None:
    app.command("replay", help=HELP)(replay)


@opt.with_measure("rtol", "timeout", help={
    "rtol": "Tolerance on the relative error (default: the one stored with the case)."})
def replay(
    counterexample: Annotated[
        str, typer.Argument(metavar="CASE.npz", help="A file written by --save-counterexample.")
    ],
    target: Annotated[
        str | None,
        typer.Argument(metavar="[TARGET]", help="model.py or model.py:NAME (default: stored)."),
    ] = None,
    backend: opt.BackendName = None,
    json_path: opt.Json = None,
    *,
    measure: Measure,
) -> int:
    from pathlib import Path

    from symcheck.app.requests import ReplayRequest
    from symcheck.app.service import run as serve
    from symcheck.cli.common import check_outputs
    from symcheck.report.equivariance import render_replay
    from symcheck.report.json import write_json
    from symcheck.sources.python import split_target

    check_outputs(inputs=[counterexample, target and split_target(target)[0]],
                  json=json_path)
    outcome = serve(ReplayRequest(Path(counterexample), target, backend, measure))
    result = outcome.result
    if json_path is not None:
        write_json(json_path, {"counterexample": counterexample, **result.to_dict()})
    render_replay(result, to_stderr=json_path == "-")
    return exit_code(outcome.verdict)

