"""Input probes and size probes: the inputs Gaussian draws never reach.

A Gaussian draw never has an axis-aligned token, two equal tokens, a zero token, a rank-one
sequence, or a scale far from 1, and a check never varies the declared sizes — so a model that
branches on any of these passes every random case. The probes put the check there:

- **input probes** turn a Gaussian draw into one of those inputs (:data:`INPUT_PROBES`); each
  is its own case kind (``input:one-hot:0``) that replays as its ``case``. They change only the
  inputs the check draws (and data the user supplied), never fixed weights.
- **size probes** re-run the check with ``n = 1``, ``n = 2`` and one ``n ≥ 4n + 1`` for every
  label a permutation group acts on, unless fixed data pins that size (:func:`size_probes`).

A probe counts toward the verdict only where both sides are finite; one outside the model's
domain (it raises, or both sides are non-finite) is a note, never a failure.

>>> import numpy as np
>>> x = np.random.default_rng(0).standard_normal((1, 4, 3))
>>> y = INPUT_PROBES["repeated-token"].apply(x)
>>> bool(np.array_equal(y[0, 0], y[0, 1]))
True
>>> size_probes_for(6)
(1, 2, 25)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from symcheck.core.groups import Cyclic, Group, Symmetric
from symcheck.core.specs import AxisSpec

Array = np.ndarray

#: how many cases each input probe gets (each with its own group element)
CASES_PER_INPUT_PROBE = 2


@dataclass(frozen=True)
class InputProbe:
    """A map from a stacked Gaussian draw ``x`` (axis 0: cases; last axis: features; the axes
    between index tokens) to a probe input.

    ``structural`` probes are projections (applying one twice changes nothing), so a small
    perturbation followed by the probe keeps the probed structure — what the round-off test
    needs; scale probes are not, and are perturbed as they are.
    """

    name: str
    summary: str
    transform: Callable[[Array], Array]
    structural: bool = True
    #: the factor a scale probe multiplies the input by: translations scale with it
    #: (:meth:`~symcheck.core.groups.Elements.scaled`), so that a translation of a tiny
    #: point cloud is tiny too, not a unit move that float32 cannot resolve against it
    scale: float = 1.0

    def apply(self, x: Array) -> Array:
        if x.ndim < 2:  # a scalar input per case: nothing to shape, only scales apply
            return x if self.structural else self.transform(x)
        return self.transform(np.array(x, dtype=np.float64))


def _tokens(x: Array) -> Array:
    """``x`` as (cases, tokens, features): every axis between the first and the last indexes a
    token (a view, so writes go through)."""
    return x.reshape(x.shape[0], -1, x.shape[-1])


def _one_hot(x: Array) -> Array:
    t = _tokens(x)
    scale = np.sqrt(t.shape[-1])  # a Gaussian token's typical norm
    t[:, 0, :] = 0.0
    t[:, 0, 0] = scale
    if t.shape[1] > 2:  # a second, on another axis, away from the first
        last = t.shape[1] - 1
        t[:, last, :] = 0.0
        t[:, last, t.shape[-1] - 1] = -scale
    return x


def _repeated(x: Array) -> Array:
    t = _tokens(x)
    if t.shape[1] >= 2:
        t[:, 1, :] = t[:, 0, :]
    if t.shape[1] >= 4:
        t[:, -1, :] = t[:, 0, :]
    return x


def _zero(x: Array) -> Array:
    t = _tokens(x)
    t[:, 0, :] = 0.0
    return x


def _rank_one(x: Array) -> Array:
    t = _tokens(x)
    a = t[:, :, :1]  # one coefficient per token (the first feature of the draw)
    v = t[:, :1, :]  # one direction per case (the first token of the draw)
    t[:, :, :] = a * v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-300) \
        * np.sqrt(t.shape[-1])
    return x


INPUT_PROBES: dict[str, InputProbe] = {p.name: p for p in (
    InputProbe("one-hot", "an axis-aligned token (a coordinate axis, at a Gaussian's norm)",
               _one_hot),
    InputProbe("repeated-token", "two (or three) equal tokens", _repeated),
    InputProbe("zero-token", "a token that is exactly zero", _zero),
    InputProbe("rank-one", "a rank-one sequence (every token a multiple of one vector)",
               _rank_one),
    InputProbe("tiny", "the whole input scaled by 1e-6", lambda x: x * 1e-6, structural=False,
               scale=1e-6),
    InputProbe("huge", "the whole input scaled by 1e6", lambda x: x * 1e6, structural=False,
               scale=1e6),
)}


def probe_input(spec: AxisSpec, x: Array, probe: InputProbe) -> Array:
    """``probe`` applied to the stacked draw ``x`` of an input with ``spec``."""
    return probe.apply(x) if spec.rank else (x if probe.structural else probe.transform(x))


def size_probes_for(size: int) -> tuple[int, ...]:
    """``1, 2`` and one size at least ``4·size + 1`` (the declared size is checked already)."""
    return tuple(s for s in (1, 2, 4 * size + 1) if s != size)


def permuted_labels(groups: tuple[Group, ...]) -> list[str]:
    """The labels a permutation group acts on (size probes vary these)."""
    return list(dict.fromkeys(g.label for g in groups if isinstance(g, Symmetric | Cyclic)))
