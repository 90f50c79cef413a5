"""``symcheck replay CASE.npz [TARGET]``: re-run a saved counterexample."""

from __future__ import annotations

from typing import Annotated

import typer

from symcheck.cli import options as opt
from symcheck.cli.common import EXIT_FAIL, EXIT_OK, run

HELP = (
    "Re-run a counterexample saved by 'symcheck equivariance --save-counterexample'.\n\n"
    "The stored inputs and group element go through the model as it is now (TARGET, or the "
    "model named in the file). Exit 1 while the error is still above the tolerance (the bug "
    "is there), 0 once it is fixed, 2 on bad input."
)


def register(app: typer.Typer) -> None:
    app.command("replay", help=HELP)(replay)


def replay(
    counterexample: Annotated[
        str, typer.Argument(metavar="CASE.npz", help="A file written by --save-counterexample.")
    ],
    target: Annotated[
        str | None,
        typer.Argument(metavar="[TARGET]", help="model.py or model.py:NAME (default: stored)."),
    ] = None,
    rtol: opt.Rtol = None,
    backend: Annotated[
        str | None, typer.Option("--backend", metavar="NAME", help="numpy, torch or jax.")
    ] = None,
    json_path: opt.Json = None,
    debug: opt.Debug = False,
) -> None:
    def body() -> int:
        from symcheck.app.counterexample import load
        from symcheck.app.counterexample import replay as rerun
        from symcheck.backends import adapt
        from symcheck.core.files import write_json
        from symcheck.core.signature import Signature
        from symcheck.core.tolerances import tolerance_for
        from symcheck.engine.problem import resolve
        from symcheck.report.equivariance import render_replay
        from symcheck.sources.python import load_python

        ce = load(counterexample)
        meta = ce.meta
        loaded = load_python(target or meta["model"])
        dtype = str(meta.get("dtype", "float64"))
        tolerance = tolerance_for(dtype, rtol if rtol is not None else meta["tolerance"])
        meta["tolerance"] = tolerance
        signature = Signature(inputs=tuple(meta["inputs"]), outputs=tuple(meta["outputs"]),
                              groups=tuple(dict.fromkeys(meta["groups"])), sizes=meta["sizes"])
        _, fn = adapt(loaded.obj, dtype, loaded.namespace, backend)
        problem = resolve(fn, signature, dtype, list(ce.inputs), loaded.name)
        case, _ = rerun(problem, ce)
        still_broken = not case.finite or case.error > tolerance
        if json_path is not None:
            write_json(json_path, {
                "counterexample": counterexample, "model": target or meta["model"],
                "group": meta["group"], "case": meta["case"], "stored_error": meta["error"],
                "error": case.error, "tolerance": tolerance,
                "verdict": "fail" if still_broken else "pass", "details": case.to_dict(),
            })
        render_replay(meta, case, still_broken, to_stderr=json_path == "-")
        return EXIT_FAIL if still_broken else EXIT_OK

    run(body, debug)
