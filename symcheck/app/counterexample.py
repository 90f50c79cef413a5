"""Counterexample files: one failing case, stored so that anyone can re-run it exactly.

An ``.npz`` (no pickles) holding the inputs ``input_0…``, each group factor's element
``element_0…`` (a matrix or a permutation index vector), the outputs ``f_gx_0…`` and
``g_fx_0…`` as measured, and a JSON ``meta`` string: the model target, specs, groups, sizes,
dtype, tolerance, seed, case and error. :func:`replay` applies the stored element to the stored
inputs with the model as it is now.

The model file is stored relative to the counterexample's folder (and absolute), so a replay
works from any folder; a replay runs the stored model file only when it resolves next to the
counterexample file (or the user names the model).

>>> FORMAT
'symcheck-counterexample/1'
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from symcheck.app.outcomes import Outcome
from symcheck.core.caseid import CaseId
from symcheck.core.errors import InputFileError, ReplayError, SpecError, SymcheckError
from symcheck.core.files import read_npz, save_npz
from symcheck.core.groups import GroupName
from symcheck.engine.evaluate import CaseResult, Evaluation, compare, evaluate
from symcheck.engine.problem import Problem

FORMAT = "symcheck-counterexample/1"
#: metadata every counterexample needs to be replayed, and its JSON type
_META: dict[str, type | tuple[type, ...]] = {
    "inputs": list, "outputs": list, "groups": list, "sizes": dict, "dtype": str,
    "tolerance": (int, float), "error": (int, float), "group": str, "case": str,
    "seed": int, "model": str,
}


@dataclass
class Counterexample:
    """A stored failing case: who it is (read from the metadata's group and case), the metadata,
    and its arrays."""

    case: CaseId
    meta: dict[str, Any]
    inputs: list[np.ndarray]
    elements: list[dict[str, np.ndarray]]  # per group factor: its arrays ("element", ...)
    f_gx: list[np.ndarray]
    g_fx: list[np.ndarray]


def save(path: str, problem: Problem, evaluation: Evaluation, meta: dict[str, Any]) -> None:
    """Write one evaluated case and its metadata atomically to ``path``."""
    arrays: dict[str, Any] = {}
    for i, x in enumerate(evaluation.x):
        arrays[f"input_{i}"] = x
    for j, (_, element) in enumerate(evaluation.elements):
        for key, value in element.to_arrays().items():
            arrays[f"{key}_{j}"] = value[0]
    for k, (a, b) in enumerate(zip(evaluation.fgx, evaluation.gfx, strict=True)):
        arrays[f"f_gx_{k}"] = a
        arrays[f"g_fx_{k}"] = b
    full = {
        "format": FORMAT,
        "inputs": [str(s) for s in problem.inputs],
        "outputs": [str(s) for s in problem.outputs],
        "groups": [g.name for g, _ in evaluation.elements],
        "sizes": problem.sizes,
        "dtype": problem.dtype,
        **meta,
    }
    arrays["meta"] = np.array(json.dumps(full))
    save_npz(path, arrays, "save_counterexample")


def load(path: str | Path) -> Counterexample:
    """Read a counterexample file (never unpickles); exit-2 errors name what is wrong."""
    p = Path(path)
    arrays = read_npz(p, "counterexample")
    try:
        meta = json.loads(str(arrays["meta"]))
    except RecursionError:
        raise InputFileError(f"counterexample: {str(p)!r}: its metadata is nested too deeply "
                             "(the file was edited)") from None
    except (ValueError, KeyError) as exc:
        raise InputFileError(
            f"counterexample: {str(p)!r} is not a symcheck counterexample file ({exc})"
        ) from None
    found = meta.get("format") if isinstance(meta, dict) else None
    if found != FORMAT:
        raise InputFileError(
            f"counterexample: {str(p)!r} has format {found!r}, expected {FORMAT!r}"
        )
    for key, kind in _META.items():
        if not isinstance(meta.get(key), kind):
            raise InputFileError(f"counterexample: {str(p)!r}: its metadata has no valid "
                                 f"{key!r} (the file is incomplete or was edited)")
    if not all(isinstance(v, str) for v in (*meta["inputs"], *meta["outputs"],
                                            *meta["groups"])) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in meta["sizes"].items()):
        raise InputFileError(f"counterexample: {str(p)!r}: its specs, groups or sizes are "
                             "malformed (the file was edited)")
    try:
        case = CaseId.parse(f"{meta['group']}/{meta['case']}")
    except SpecError:
        raise InputFileError(f"counterexample: {str(p)!r}: its metadata has no valid group "
                             "and case (the file was edited)") from None

    def series(prefix: str) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        while f"{prefix}_{len(out)}" in arrays:
            out.append(arrays[f"{prefix}_{len(out)}"])
        return out

    elements = [{key.rpartition("_")[0]: arrays[key] for key in arrays
                 if key.rpartition("_")[2] == str(j) and not key.startswith(("input_", "f_gx_",
                                                                             "g_fx_"))}
                for j in range(len(series("element")))]
    return Counterexample(case, meta, series("input"), elements, series("f_gx"),
                          series("g_fx"))


def replay(problem: Problem, ce: Counterexample,
           names: Sequence[GroupName]) -> tuple[CaseResult, Evaluation]:
    """Re-run the stored case on ``problem`` (the model as it is now); ``names``: the group of
    each stored element, as read from the file's metadata."""
    groups = [name.build(problem.sizes) for name in names]
    if len(groups) != len(ce.elements):
        raise ReplayError(
            f"counterexample: {len(ce.elements)} elements stored for groups {ce.meta['groups']}"
        )
    elements = []
    for g, stored in zip(groups, ce.elements, strict=True):
        try:
            element = g.from_arrays(stored)
        except SymcheckError as exc:
            raise ReplayError(f"counterexample: cannot replay: {exc.message}") from None
        if not g.contains(element, atol=1e-8):
            raise ReplayError(
                f"counterexample: cannot replay: the stored element of {g.name} is not a "
                f"member of {g.name} (the file was altered or is corrupt)"
            )
        elements.append((g, element))
    (ev,) = evaluate(problem, [ce.case], [(list(ce.inputs), elements)], batch=False)
    return compare(ce.case, ev, float(ce.meta["tolerance"])), ev


def save_outcome(path: str, outcome: Outcome) -> str | None:
    """Save an outcome's worst failing case to ``path`` (``.npz`` appended); the path written,
    or None when nothing fails."""
    ev, r = outcome.evidence, outcome.reproduction
    if ev is None or r is None or r.target is None:
        return None
    if not path.endswith(".npz"):
        path += ".npz"
    model_path, sep, member = r.target.rpartition(":")
    if not (sep and member.isidentifier()):
        model_path, member = r.target, ""
    absolute = Path(model_path).resolve()
    folder = Path(path).resolve().parent
    try:
        relative = os.path.relpath(absolute, folder)
    except ValueError:  # another drive
        relative = str(absolute)
    save(path, ev.problem, ev.evaluation, {
        "model": r.target, "model_path": str(absolute), "model_relative": relative,
        "member": member or None, "name": outcome.result.model, "group": str(ev.case.groups),
        "mask": r.mask, "padding_mask": r.padding_mask,
        "case": str(ev.case), "seed": r.measure.seed, "trials": r.measure.trials,
        "tolerance": ev.tolerance,
        "error": ev.error,
    })
    return path


def model_file(counterexample: str | os.PathLike[str], meta: dict[str, Any]) -> str:
    """The model target a counterexample names, resolved next to the counterexample file."""
    member = meta.get("member")
    relative = meta.get("model_relative")
    if isinstance(relative, str):
        candidate = Path(counterexample).resolve().parent / relative
        if candidate.is_file():
            return f"{candidate}:{member}" if member else str(candidate)
    raise ReplayError(
        f"counterexample: the model it was saved for ({meta.get('model')!r}) is not next to "
        f"{str(counterexample)!r}; name the model to replay it on: "
        "symcheck replay CASE.npz model.py[:NAME]"
    )
