"""``symcheck equivariance TARGET``: check a model file's symmetries."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from symcheck.cli import options as opt
from symcheck.cli.common import EXIT_FAIL, EXIT_OK, run

if TYPE_CHECKING:
    from symcheck.core.signature import Signature
    from symcheck.engine.equivariance import EquivarianceResult, GroupResult
    from symcheck.engine.problem import Problem
    from symcheck.sources.weights.check import WeightsResult

HELP = (
    "Check that f(g·x) = g·f(x) for the groups acting on a model's axes.\n\n"
    "TARGET is model.py, model.py:NAME, or saved weights. Specs and groups come from the "
    "file's @symcheck.equivariant(...) declaration or from --in/--out/--group/--size.\n\n"
    "Exit 0: every group (and their product) is within tolerance; 1: a symmetry is broken or "
    "the model returned NaN/Inf; 2: bad input.\n\n"
    "Saved weights (.npz, .safetensors, .pt): a reference multi-head attention (with LayerNorm "
    "and feed-forward when the file has them) is built from the file; d comes from the weights, "
    "--size n=N sets the test sequence length, groups default to S(n) and O(d). With "
    "--weights cotransform every weight axis in the embedding space turns with the tokens."
)

Layer = Annotated[str | None, typer.Option(
    metavar="PREFIX", help="Weights: the layer to check, e.g. encoder.layer.3 (default: first).")]
Heads = Annotated[int | None, typer.Option(
    metavar="H", help="Weights: number of attention heads (default: config.json beside the file).")]
WeightsMode = Annotated[str | None, typer.Option(
    "--weights", metavar="MODE",
    help="Weights: cotransform (turn with the embedding; default) or fixed.")]
Component = Annotated[str | None, typer.Option(
    metavar="PART",
    help="Weights: attention (core) or block (with LayerNorm and feed-forward; default).")]
BackendName = Annotated[str | None, typer.Option(
    "--backend", metavar="NAME",
    help="Run the model with numpy, torch or jax (default: chosen from the model).")]


def register(app: typer.Typer) -> None:
    app.command("equivariance", help=HELP)(equivariance)


def equivariance(
    target: opt.Target,
    inputs: opt.Inputs = None,
    outputs: opt.Outputs = None,
    groups: opt.Groups = None,
    size: opt.Sizes = None,
    trials: opt.Trials = None,
    seed: opt.Seed = 0,
    rtol: opt.Rtol = None,
    dtype: opt.Dtype = "float64",
    json_path: opt.Json = None,
    data: opt.Data = None,
    case: opt.Case = None,
    layer: Layer = None,
    heads: Heads = None,
    weights: WeightsMode = None,
    component: Component = None,
    backend: BackendName = None,
    search: opt.Search = 0,
    batch: opt.Batch = True,
    save_counterexample: opt.SaveCounterexample = None,
    debug: opt.Debug = False,
) -> None:
    def body() -> int:
        from symcheck.sources.python import WEIGHT_LOADERS

        if Path(target).suffix.lower() in WEIGHT_LOADERS:
            return check_weights_file(
                target, groups=groups, size=size, trials=trials, seed=seed, rtol=rtol,
                dtype=dtype, json_path=json_path, case=case, layer=layer, heads=heads,
                mode=weights, component=component,
                not_for_weights={"--in": inputs, "--out": outputs, "--inputs": data,
                                 "--backend": backend, "--search": search,
                                 "--save-counterexample": save_counterexample},
            )
        for name, value in (("--layer", layer), ("--heads", heads), ("--weights", weights),
                            ("--component", component)):
            if value is not None:
                from symcheck.core.errors import SpecError

                raise SpecError(f"{name}: applies to weights files only "
                                f"({', '.join(sorted(WEIGHT_LOADERS))}), not to {target!r}")
        return check_function(target, inputs=inputs, outputs=outputs, groups=groups, size=size,
                              trials=trials, seed=seed, rtol=rtol, dtype=dtype,
                              json_path=json_path, data=data, case=case, backend=backend,
                              search=search, batch=batch,
                              save_counterexample=save_counterexample)

    run(body, debug)


def check_function(
    target: str, *, inputs: list[str] | None, outputs: list[str] | None,
    groups: list[str] | None, size: list[str] | None, trials: int | None, seed: int,
    rtol: float | None, dtype: str, json_path: str | None, data: Path | None, case: str | None,
    backend: str | None, search: int = 0, batch: bool = True,
    save_counterexample: str | None = None,
) -> int:
    """A function or module in a Python file."""
    from symcheck.app.service import run_problem
    from symcheck.backends import BACKENDS, adapt
    from symcheck.core.files import write_json
    from symcheck.core.signature import Signature
    from symcheck.core.specs import parse_sizes
    from symcheck.engine.problem import resolve
    from symcheck.report.equivariance import render
    from symcheck.sources.python import load_python

    loaded = load_python(target)
    signature = (loaded.signature or Signature()).merged(
        inputs=inputs, outputs=outputs, groups=groups, sizes=parse_sizes(size),
        trials=trials, rtol=rtol,
    )
    arrays = load_inputs(data, loaded.obj, len(signature.inputs)) if data else None
    if backend is not None and backend not in BACKENDS:
        from symcheck.core.errors import SpecError

        raise SpecError(f"--backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    _, fn = adapt(loaded.obj, dtype, loaded.namespace, backend)
    problem = resolve(fn, signature, dtype, arrays, loaded.name)
    result = run_problem(problem, signature, seed, case,
                         data_source=str(data) if data else "random", search=search,
                         batch=batch)
    replay = replay_command(target, signature, result, data)
    if replay is not None and backend is not None:
        replay += " " + shlex.join(["--backend", backend])
    if replay is not None and search:
        replay += " " + shlex.join(["--search", str(search)])
    failing = result.worst_failure()
    saved = None
    if save_counterexample is not None and failing is not None:
        saved = write_counterexample(save_counterexample, target, problem, result, failing)
    if json_path is not None:
        payload = result.to_dict()
        payload["replay"] = replay
        payload["counterexample"] = saved
        write_json(json_path, payload)
    render(result, replay, to_stderr=json_path == "-")
    if saved is not None:
        from symcheck.report import make_console

        make_console(stderr=json_path == "-").print(
            f"counterexample saved: {saved}  (re-run: symcheck replay {shlex.quote(saved)})",
            markup=False, soft_wrap=True,
        )
    return EXIT_OK if result.passed else EXIT_FAIL


def write_counterexample(path: str, target: str, problem: Problem, result: EquivarianceResult,
                         failing: GroupResult) -> str | None:
    """Save the worst case of ``failing``; returns the path written."""
    from symcheck.app.counterexample import save

    m = failing.measurement
    if m.worst_evaluation is None:
        return None
    if not path.endswith(".npz"):
        path += ".npz"
    save(path, problem, m.worst_evaluation, {
        "model": target, "name": result.model, "group": m.name, "case": m.worst.case,
        "seed": result.seed, "trials": result.trials, "tolerance": failing.tolerance,
        "error": m.worst.error,
    })
    return path


def load_inputs(path: Path, obj: Any, count: int) -> list[Any]:
    """Arrays from an .npz: by the callable's parameter names if all are present, else in order."""
    import inspect

    from symcheck.core.errors import InputFileError
    from symcheck.core.files import read_npz

    arrays = read_npz(path, "--inputs")
    try:
        params = list(inspect.signature(obj).parameters)[:count]
    except (TypeError, ValueError):
        params = []
    keys = params if params and all(p in arrays for p in params) else list(arrays)
    if len(keys) < count:
        raise InputFileError(
            f"--inputs: {str(path)!r} holds {len(arrays)} arrays ({', '.join(arrays)}) but the "
            f"model takes {count} inputs"
        )
    for k in keys[:count]:
        if arrays[k].dtype.kind not in "fiu":
            raise InputFileError(f"--inputs: array {k!r} has dtype {arrays[k].dtype}, not numeric")
    return [arrays[k] for k in keys[:count]]


def replay_command(target: str, signature: Signature, result: EquivarianceResult,
                   data: Path | None) -> str | None:
    """The exact command that re-runs the worst failing case (None when everything passed)."""
    failing = result.worst_failure()
    if failing is None:
        return None
    args = ["symcheck", "equivariance", target]
    for spec in signature.inputs:
        args += ["--in", spec]
    for spec in signature.outputs:
        args += ["--out", spec]
    for group in signature.groups:
        args += ["--group", group]
    args += ["--size", ",".join(f"{k}={v}" for k, v in result.sizes.items())]
    args += ["--seed", str(result.seed), "--trials", str(result.trials)]
    if signature.rtol is not None:
        args += ["--rtol", repr(signature.rtol)]
    if result.dtype != "float64":
        args += ["--dtype", result.dtype]
    if data is not None:
        args += ["--inputs", str(data)]
    args += ["--case", f"{failing.measurement.name}/{failing.measurement.worst.case}"]
    return shlex.join(args)


def check_weights_file(
    target: str, *, groups: list[str] | None, size: list[str] | None, trials: int | None,
    seed: int, rtol: float | None, dtype: str, json_path: str | None, case: str | None,
    layer: str | None, heads: int | None, mode: str | None, component: str | None,
    not_for_weights: dict[str, Any],
) -> int:
    """Saved weights: the requested check with its co-transform breakdown."""
    from symcheck.core.errors import SpecError
    from symcheck.core.files import write_json
    from symcheck.core.specs import parse_sizes
    from symcheck.report.weights import render
    from symcheck.sources.weights.check import DEFAULT_N, Settings, check_weights

    for name, value in not_for_weights.items():
        if value:
            raise SpecError(f"{name}: does not apply to a weights file ({target!r}): its "
                            "inputs and outputs are 'n d' and the weights run in numpy")
    sizes = parse_sizes(size)
    other = sorted(set(sizes) - {"n"})
    if other:
        raise SpecError(f"--size: {other[0]!r} comes from the weights; only n (the test "
                        "sequence length) can be set for a weights file")
    settings = Settings(n=sizes.get("n", DEFAULT_N), dtype=dtype, seed=seed, trials=trials,
                        rtol=rtol)
    result = check_weights(Path(target), layer=layer, heads=heads, groups=groups,
                           mode=mode or "cotransform", component=component, settings=settings,
                           case=case)
    replay = weights_replay_command(target, result, heads, rtol)
    if json_path is not None:
        payload = result.to_dict()
        payload["replay"] = replay
        write_json(json_path, payload)
    render(result, replay, to_stderr=json_path == "-")
    return EXIT_OK if result.passed else EXIT_FAIL


def weights_replay_command(target: str, result: WeightsResult, heads: int | None,
                           rtol: float | None) -> str | None:
    """The exact command that re-runs the worst failing case of a weights check."""
    failing = result.requested.worst_failure()
    if failing is None:
        return None
    req = result.requested
    args = ["symcheck", "equivariance", target]
    if result.layer.prefix:
        args += ["--layer", result.layer.prefix.rstrip(".")]
    if heads is not None:
        args += ["--heads", str(heads)]
    for group in result.groups:
        args += ["--group", group]
    args += ["--size", f"n={req.sizes.get('n')}", "--seed", str(req.seed),
             "--trials", str(req.trials), "--weights", result.mode,
             "--component", result.component]
    if rtol is not None:
        args += ["--rtol", repr(rtol)]
    if req.dtype != "float64":
        args += ["--dtype", req.dtype]
    args += ["--case", f"{failing.measurement.name}/{failing.measurement.worst.case}"]
    return shlex.join(args)
