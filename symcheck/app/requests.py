"""Typed requests: what every door (CLI, ``symcheck check``, Python API, pytest) asks for.

A door parses its own syntax (flags, a TOML table, keyword arguments) into one of these and
hands it to :func:`symcheck.app.service.run`; nothing else about a check differs between doors.

>>> r = ModelRequest(target="model.py:attention", declared=Declared(groups=("S(n)",)))
>>> r.measure.seed, r.declared.groups
(0, ('S(n)',))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from symcheck.core.signature import Signature

Array = np.ndarray


@dataclass(frozen=True)
class Declared:
    """Overrides of what a model declares with ``@symcheck.equivariant`` (``None``: keep)."""

    inputs: tuple[str, ...] | None = None
    outputs: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    sizes: Mapping[str, int] | None = None
    mask: str | None = None
    padding_mask: str | None = None

    def merge(self, declared: Signature | None, measure: Measure) -> Signature:
        """The one place a declaration and a door's overrides are merged (the door wins)."""
        return (declared or Signature()).merged(
            inputs=self.inputs, outputs=self.outputs, groups=self.groups,
            sizes=dict(self.sizes) if self.sizes else None, trials=measure.trials,
            rtol=measure.rtol, mask=self.mask, padding_mask=self.padding_mask,
        )


@dataclass(frozen=True)
class Measure:
    """How to measure, whatever is measured."""

    seed: int = 0
    trials: int | None = None  # None: the declaration's, else DEFAULT_TRIALS
    rtol: float | None = None  # None: the declaration's, else the dtype table's
    dtype: str = "float64"
    case: str | None = None  # "GROUP/CASE": run that case only
    search: int = 0
    batch: bool = True
    probes: bool = True  # input and size probes beside the Haar draws
    timeout: float | None = None  # seconds the whole check may take (import and calls)


@dataclass(frozen=True)
class ModelRequest:
    """The equivariance of a callable: from a file (``target``) or in memory (``obj``)."""

    target: str | None = None  # "model.py" or "model.py:NAME"
    obj: Callable[..., Any] | None = None
    name: str | None = None
    declared: Declared = field(default_factory=Declared)
    measure: Measure = field(default_factory=Measure)
    backend: str | None = None
    data: Path | None = None  # an .npz of inputs
    arrays: Sequence[Array | None] | None = None  # inputs given in memory


@dataclass(frozen=True)
class FormRequest:
    """The attention form of a callable (Ma & Ying): ``symcheck form``, ``check_form``."""

    target: str | None = None
    obj: Callable[..., Any] | None = None
    name: str | None = None
    declared: Declared = field(default_factory=Declared)
    measure: Measure = field(default_factory=Measure)
    backend: str | None = None
    data: Path | None = None
    arrays: Sequence[Array | None] | None = None
    weights: str = "cotransform"
    span_rtol: float | None = None
    fit: bool = True


@dataclass(frozen=True)
class WeightsRequest:
    """Saved attention weights: a reference forward built from the file, then checked."""

    path: Path
    layer: str | None = None
    heads: int | None = None
    groups: tuple[str, ...] | None = None
    mode: str = "cotransform"
    component: str | None = None
    n: int | None = None
    measure: Measure = field(default_factory=Measure)
    fold: bool = False  # fold the norm gains into the next linear layers first
    breakdown: bool = False  # the full per-part table, not only what names a cause


@dataclass(frozen=True)
class ReplayRequest:
    """A saved counterexample, re-run on the model as it is now."""

    counterexample: Path
    target: str | None = None
    rtol: float | None = None
    backend: str | None = None
    timeout: float | None = None


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


Request = (ModelRequest | FormRequest | WeightsRequest | ReplayRequest | MatrixRequest
           | SweepRequest)
