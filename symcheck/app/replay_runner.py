"""A saved counterexample, re-run on the model as it is now (``symcheck replay``)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from symcheck.app.outcomes import Outcome
from symcheck.app.requests import ReplayRequest
from symcheck.app.service import wrap_model
from symcheck.core.errors import ModelError, ReplayError, SpecError
from symcheck.core.signature import Signature, parse_groups, parse_specs
from symcheck.core.tolerances import tolerance_for
from symcheck.core.verdicts import SKIP, Computed, Judged, Verdict, key
from symcheck.engine.evaluate import CaseResult
from symcheck.engine.problem import resolve
from symcheck.sources.python import by_position, load_python, split_target


@dataclass
class ReplayResult(Judged):
    """A stored case re-run: the stored error, the error now, and which model file ran."""

    #: the counterexample file's metadata (its group, case and error are computed keys)
    meta: dict[str, Any] = field(metadata=SKIP)
    case: CaseResult = field(metadata=key("details"))
    tolerance: float
    model_file: str = field(metadata=key("model"))

    json_order = ("model_file", Computed("group", lambda r: r.meta["group"]),
                  Computed("case", lambda r: r.meta["case"]),
                  Computed("stored_error", lambda r: r.meta["error"]),
                  Computed("error", "case.error"), "tolerance", Computed("verdict"), "case")

    @property
    def name(self) -> str:
        """The model the case was saved for."""
        return str(self.meta.get("name") or self.model_file)

    @property
    def verdict(self) -> Verdict:
        """FAIL while the case still fails (or is not finite), PASS once it is fixed."""
        broken = not self.case.finite or self.case.error > self.tolerance
        return Verdict.FAIL if broken else Verdict.PASS


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def run_replay(request: ReplayRequest) -> Outcome:
    """Re-run a counterexample: FAIL while it still fails, PASS once fixed; a file that cannot
    be replayed (a tampered element, another model's file) is a :class:`ReplayError`."""
    from symcheck.app.counterexample import load, model_file
    from symcheck.app.counterexample import replay as rerun

    ce = load(request.counterexample)
    meta = ce.meta
    target = request.target or model_file(request.counterexample, meta)
    loaded = load_python(target)
    if request.target is None and meta.get("name") not in (None, loaded.name):
        raise ReplayError(
            f"counterexample: {str(request.counterexample)!r} was saved for "
            f"{meta.get('name')!r}, but {target!r} holds {loaded.name!r}; name the model to "
            "replay it on: symcheck replay CASE.npz model.py:NAME"
        )
    dtype = str(meta.get("dtype", "float64"))
    rtol = request.measure.rtol if request.measure.rtol is not None else meta.get("tolerance")
    tolerance = tolerance_for(dtype, rtol)
    fn = wrap_model(loaded.obj, dtype, request.backend)
    try:
        # the file's metadata is a door: its specs and group names are read here, once
        names = parse_groups(meta["groups"])
        signature = Signature(inputs=parse_specs(meta["inputs"], "inputs"),
                              outputs=parse_specs(meta["outputs"], "outputs"),
                              groups=tuple(dict.fromkeys(names)), sizes=meta["sizes"],
                              mask=_text(meta.get("mask")),
                              padding_mask=_text(meta.get("padding_mask")))
        problem = resolve(fn, signature, dtype, list(ce.inputs), loaded.name,
                          positional=by_position(loaded.obj, signature.inputs))
    except SpecError as exc:
        raise ReplayError(f"counterexample: cannot replay on {target!r}: the stored inputs do "
                          f"not fit ({exc.message})") from None
    try:
        case, _ = rerun(problem, ce, names)
    except ModelError as exc:
        if meta.get("name") in (None, loaded.name):
            raise
        cause = exc.message
        shown = shlex.quote(str(request.counterexample))
        raise ReplayError(
            f"counterexample: {str(request.counterexample)!r} was saved for "
            f"{meta.get('name')!r} (inputs {', '.join(map(repr, meta['inputs']))}), and "
            f"{loaded.name!r} cannot run on them ({cause}); replay it on the model it was saved "
            f"for: symcheck replay {shown} {shlex.quote(str(meta.get('model', 'model.py')))}"
        ) from None
    result = ReplayResult({**meta, "tolerance": tolerance}, case, tolerance, target)
    verdict = result.verdict
    return Outcome("replay", verdict, result, file=str(split_target(target)[0]))
