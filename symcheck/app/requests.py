"""Typed requests: what every door (CLI, ``symcheck check``, Python API, pytest) asks for.

A door parses its own syntax (flags, a TOML table, keyword arguments) into one of these and
hands it to :func:`symcheck.app.service.run`; nothing else about a check differs between doors.
Each request's :meth:`validated` is the one place its values are checked (the service calls
it before any work); the layers below trust what they are given.

>>> r = ModelRequest(target="model.py:attention", declared=Declared.parse(groups=("S(n)",)))
>>> r.measure.seed, [str(g) for g in r.declared.groups]
(0, ['S(n)'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from symcheck.core.errors import Metavar, Phrase, SpecError, Use
from symcheck.core.groups import GroupName
from symcheck.core.options import Measure, Tolerance
from symcheck.core.signature import WEIGHT_MODES, Signature, parse_groups, parse_specs
from symcheck.core.specs import AxisSpec, check_sizes

__all__ = ["Declared", "FormRequest", "MatrixRequest", "Measure", "ModelRequest",
           "ReplayRequest", "Request", "SweepRequest", "WeightsRequest"]

#: the dtypes the numpy reference of saved weights computes in
WEIGHT_DTYPES = ("float64", "float32", "float16")

Array = np.ndarray


@dataclass(frozen=True)
class Declared:
    """Overrides of what a model declares with ``@symcheck.equivariant`` (``None``: keep),
    parsed by the door (:meth:`parse`)."""

    inputs: tuple[AxisSpec, ...] | None = None
    outputs: tuple[AxisSpec, ...] | None = None
    groups: tuple[GroupName, ...] | None = None
    sizes: Mapping[str, int] | None = None
    mask: str | None = None
    padding_mask: str | None = None

    def validated(self) -> Declared:
        """Sizes checked (integers ≥ 1 under labels); the specs are checked where parsed."""
        if self.sizes is not None:
            check_sizes(self.sizes)
        return self

    @classmethod
    def parse(cls, inputs: Sequence[str] | None = None, outputs: Sequence[str] | None = None,
              groups: Sequence[str] | None = None, sizes: Mapping[str, int] | None = None,
              mask: str | None = None, padding_mask: str | None = None) -> Declared:
        """A door's overrides from its text (empty or ``None``: keep what is declared)."""
        return cls(parse_specs(inputs, "inputs") if inputs else None,
                   parse_specs(outputs, "outputs") if outputs else None,
                   parse_groups(groups) if groups else None, sizes or None, mask, padding_mask)

    def merge(self, declared: Signature | None, measure: Measure) -> Signature:
        """The one place a declaration and a door's overrides are merged (the door wins)."""
        return (declared or Signature()).merged(
            inputs=self.inputs, outputs=self.outputs, groups=self.groups,
            sizes=dict(self.sizes) if self.sizes else None, trials=measure.trials,
            rtol=measure.rtol, mask=self.mask, padding_mask=self.padding_mask,
        )


@dataclass(frozen=True)
class CallableRequest:
    """A callable to check, from a file (``target``) or in memory (``obj``), with what the
    door declared about it and how to measure."""

    target: str | None = None  # "model.py" or "model.py:NAME"
    obj: Callable[..., Any] | None = None
    name: str | None = None
    declared: Declared = field(default_factory=Declared)
    measure: Measure = field(default_factory=Measure)
    backend: str | None = None
    data: Path | None = None  # an .npz of inputs
    arrays: Sequence[Array | None] | None = None  # inputs given in memory


@dataclass(frozen=True)
class ModelRequest(CallableRequest):
    """The equivariance of a callable (``symcheck equivariance model.py``, a model check,
    ``check_equivariance``)."""

    def validated(self) -> ModelRequest:
        self.measure.validated()
        self.declared.validated()
        return self


@dataclass(frozen=True)
class FormRequest(CallableRequest):
    """The attention form of a callable (Ma & Ying): ``symcheck form``, ``check_form``."""

    weights: str = "cotransform"
    span_rtol: float | None = None
    fit: bool = True

    def validated(self) -> FormRequest:
        self.measure.validated()
        self.declared.validated()
        _weight_mode(self.weights)
        if self.span_rtol is not None:
            Tolerance().check(self.span_rtol, "span_rtol")
        return self


@dataclass(frozen=True)
class WeightsRequest:
    """Saved attention weights: a reference forward built from the file, then checked."""

    path: Path
    layer: str | None = None
    heads: int | None = None
    groups: tuple[GroupName, ...] | None = None
    mode: str = "cotransform"
    component: str | None = None
    n: int | None = None
    measure: Measure = field(default_factory=Measure)
    fold: bool = False  # fold the norm gains into the next linear layers first
    breakdown: bool = False  # the full per-part table, not only what names a cause

    def validated(self) -> WeightsRequest:
        m = self.measure.validated()
        _weight_mode(self.mode)
        if m.dtype not in WEIGHT_DTYPES:
            raise SpecError(f"{m.dtype}: saved weights are checked through symcheck's numpy "
                            f"reference, which has no {m.dtype}; use one of "
                            f"{', '.join(WEIGHT_DTYPES)} (or check the framework's module)",
                            argument="dtype", value=m.dtype)
        if self.layer == "all" and self.component not in (None, "block"):
            raise SpecError(Phrase(f"{self.component}: ", Use("layer", "all"),
                                   " checks the whole stack of blocks, one after the other; "
                                   "check one component with ", Use("layer", Metavar("NAME"))),
                            argument="component", value=self.component)
        return self


@dataclass(frozen=True)
class ReplayRequest:
    """A saved counterexample, re-run on the model as it is now."""

    counterexample: Path
    target: str | None = None
    backend: str | None = None
    #: the tolerance (``rtol``) and the time limit (``timeout``) apply; the rest is stored
    measure: Measure = field(default_factory=Measure)

    def validated(self) -> ReplayRequest:
        self.measure.validated()
        return self


@dataclass(frozen=True)
class MatrixRequest:
    """Sparse approximation of a target matrix (``symcheck sparse-approx``, a config check);
    with ``verify``, the precision of saved parameters instead of a search."""

    matrix: Any  # a path or an array
    precision: float = 0.1
    max_d: int | None = None
    seed: int = 0
    method: str = "auto"
    ratio_precision: float | None = None
    leak_precision: float | None = None
    seeds_per_d: int = 3
    time_limit: float | None = 120.0
    verify: Any = None  # a path to saved X, W_Q, W_K (or the arrays)
    #: called with a line of progress while the search runs (a door's display; not a result)
    progress: Callable[[str], None] | None = None

    def validated(self) -> MatrixRequest:
        return self  # :func:`symcheck.sparse.approximate` checks its own arguments


@dataclass(frozen=True)
class SweepRequest:
    """The paper's experiment: d against log₂ L for a family of targets (``sparse-sweep``)."""

    family: str
    k: int = 4
    lengths: tuple[int, ...] = ()
    methods: tuple[str, ...] = ("jl", "opt", "poly")
    precision: float = 0.1
    seed: int = 0
    seeds_per_d: int = 3
    time_limit: float = 60.0
    jl_max_length: int = 1024
    opt_max_length: int = 4096

    def validated(self) -> SweepRequest:
        return self  # :func:`symcheck.sparse.sweep.sweep` checks its own arguments


Request = (ModelRequest | FormRequest | WeightsRequest | ReplayRequest | MatrixRequest
           | SweepRequest)


def _weight_mode(mode: str) -> None:
    if mode not in WEIGHT_MODES:
        raise SpecError(f"{mode!r} is not one of {', '.join(WEIGHT_MODES)}",
                        argument="weights", value=mode)


@dataclass(frozen=True)
class WeightsChoice:
    """What only a weights file takes (``None``/False: not given)."""

    layer: str | None = None
    heads: int | None = None
    mode: str | None = None
    component: str | None = None
    fold: bool = False
    breakdown: bool = False


def for_target(target: str, declared: Declared, measure: Measure, *,
               backend: str | None = None, data: Path | None = None,
               weights: WeightsChoice = WeightsChoice(),
               model_only: Mapping[str, Any] | None = None) -> ModelRequest | WeightsRequest:
    """The request a TARGET makes: saved weights (by its suffix) or a model file. An option
    that applies to the other kind is an error naming it, not silently dropped.
    ``model_only``: a door's own options that apply to a model only (argument -> value)."""
    from symcheck.sources.python import WEIGHT_LOADERS

    sizes = dict(declared.sizes or {})
    if Path(target).suffix.lower() not in WEIGHT_LOADERS:
        for name, value in (("layer", weights.layer), ("heads", weights.heads),
                            ("weights", weights.mode), ("component", weights.component),
                            ("fold_norms", weights.fold or None),
                            ("breakdown", weights.breakdown or None)):
            if value is not None:
                raise SpecError(f"applies to weights files only "
                                f"({', '.join(sorted(WEIGHT_LOADERS))}), not to {target!r}",
                                argument=name)
        return ModelRequest(target=target, declared=declared, measure=measure,
                            backend=backend, data=data)
    for name, value in (("inputs", declared.inputs), ("outputs", declared.outputs),
                        ("data", data), ("backend", backend), ("search", measure.search),
                        *(model_only or {}).items()):
        if value:
            raise SpecError(f"does not apply to a weights file ({target!r}): its inputs and "
                            "outputs are 'n d' and the weights run in numpy", argument=name)
    for option, asked in ((Use("mask"), declared.mask),
                          (Use("padding_mask"), declared.padding_mask),
                          (Use("probes", False), not measure.probes),
                          (Use("batch", False), not measure.batch)):
        if asked:
            raise SpecError(Phrase(option, f" does not apply to a weights file ({target!r}): "
                                   "its random inputs have no padding, and its check always "
                                   "runs the probes, every case in one call"))
    other = sorted(set(sizes) - {"n"})
    if other:
        raise SpecError(f"{other[0]!r} comes from the weights; only n (the test sequence "
                        "length) can be set for a weights file", argument="sizes", value=sizes)
    return WeightsRequest(path=Path(target), layer=weights.layer, heads=weights.heads,
                          groups=declared.groups, mode=weights.mode or "cotransform",
                          component=weights.component, n=sizes.get("n"), measure=measure,
                          fold=weights.fold, breakdown=weights.breakdown)
