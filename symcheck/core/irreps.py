"""e3nn irreps: their syntax (parsed here, without e3nn) and their matrices (from e3nn).

An axis ``c:irreps(1x0e+1x1o+1x2e)`` holds features in e3nn's basis and parity conventions; its
size is the irreps dimension (9 here), while the label ``c`` keeps the group's ``d = 3``.
Parsing follows e3nn's grammar (``MULxLp`` terms joined by ``+``, the multiplicity optional,
the parity ``e`` even, ``o`` odd or ``y`` = (−1)^L), so a malformed tag is an input error
before any model runs and without e3nn installed.

The matrices are e3nn's own, ``Irreps(...).D_from_matrix(Q)`` (which handles ``det Q = −1``
through each irrep's parity). The core imports no framework: e3nn is called by a *source*,
:mod:`symcheck.backends.e3nn_irreps` unless :func:`register_source` names another, loaded by
its dotted name the first time a matrix is needed (whoever calls: the engine alone, the app or
a test), and which imports e3nn only then. Two precautions:

- **float64 always** (the source's job). e3nn builds its generators in torch's *default* dtype;
  under a float32 default, ``D`` is only float32-accurate (≈ 7e-7) even for a float64 ``Q``,
  which would fail an exactly equivariant model at the float64 tolerance. The default is
  float64 while the source computes ``D``, and restored afterwards.
- **No gimbal lock.** e3nn finds Euler angles with ``β = acos(Q[1, 1])``, which loses half the
  digits when ``|Q[1, 1]|`` is near 1: a rotation 1e-8 away from one about the y axis gets a
  ``D`` that is off by 1e-8 (measured, e3nn 0.6), far above the float64 tolerance. symcheck
  factors ``Q = (Q R₀ᵀ) R₀`` with a fixed quarter turn ``R₀`` chosen so that
  ``|(Q R₀ᵀ)[1, 1]| ≤ 1/√3`` and returns ``D(Q R₀ᵀ) D(R₀)``: the same matrix (``D`` is a
  homomorphism), computed where the angles are well conditioned.

>>> parse_irreps("1x0e + 1x1o+2e").dim
9
>>> str(parse_irreps("2x1o+0e"))
'2x1o+1x0e'
"""

from __future__ import annotations

import importlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from symcheck.core.errors import SpecError

Array = np.ndarray

_TERM = re.compile(r"^(?:(\d+)x)?(\d+)([eoy])$")


@dataclass(frozen=True)
class IrrepsSpec:
    """A parsed irreps: ``(multiplicity, l, parity)`` per term, in order."""

    terms: tuple[tuple[int, int, int], ...]

    @property
    def dim(self) -> int:
        return sum(mul * (2 * degree + 1) for mul, degree, _ in self.terms)

    def __str__(self) -> str:
        return "+".join(f"{mul}x{degree}{'e' if p == 1 else 'o'}"
                        for mul, degree, p in self.terms)


def parse_irreps(text: str) -> IrrepsSpec:
    """Parse an e3nn irreps string such as ``1x0e+1x1o+1x2e`` (spaces allowed)."""
    compact = "".join(str(text).split())
    terms = []
    for part in compact.split("+") if compact else []:
        match = _TERM.match(part)
        if match is None:
            raise SpecError(
                f"{part!r} in irreps {text!r} is not an irrep", argument="specs", value=text,
                expected="terms MULxLp joined by '+', p one of e, o, y, e.g. '1x0e+1x1o+1x2e'",
            )
        mul = int(match.group(1) or 1)
        degree = int(match.group(2))
        parity = {"e": 1, "o": -1, "y": (-1) ** degree}[match.group(3)]
        terms.append((mul, degree, parity))
    spec = IrrepsSpec(tuple(terms))
    if spec.dim == 0:
        raise SpecError(f"irreps {text!r} has dimension 0", argument="specs", value=text,
                        expected="at least one irrep, e.g. '1x0e+1x1o'")
    return spec


class WignerSource(Protocol):
    """Where e3nn's matrices come from (registered by a backend; the core imports no
    framework)."""

    def require(self, what: str) -> None:
        """Raise a :class:`MissingExtraError` naming ``what`` when e3nn cannot be imported."""

    def matrices(self, irreps: str, q: Array) -> Array:
        """e3nn's ``Irreps(irreps).D_from_matrix(q)`` for stacked 3×3 ``q``, in float64."""


#: the source used unless one is registered: a dotted name, loaded when first needed, so that
#: no import has to happen first for irreps axes to work
DEFAULT_SOURCE = ("symcheck.backends.e3nn_irreps", "E3nnSource")
_SOURCES: list[WignerSource] = []


def register_source(source: WignerSource) -> None:
    """Make ``source`` the provider of e3nn's matrices (instead of :data:`DEFAULT_SOURCE`)."""
    _SOURCES[:] = [source]


def _source() -> WignerSource:
    if not _SOURCES:
        module, name = DEFAULT_SOURCE
        source: WignerSource = getattr(importlib.import_module(module), name)()
        _SOURCES.append(source)
    return _SOURCES[0]


def require_e3nn(what: str) -> None:
    """Raise an input error naming the ``symcheck[e3nn]`` extra when e3nn is unavailable."""
    _source().require(what)


# Quarter turns R₀ whose row 1 is e_x, e_y (the identity) or e_z: (Q R₀ᵀ)[1, 1] = Q[1, k].
_QUARTER_TURNS = np.array([
    [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
    np.eye(3),
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]],
])

_CACHE: OrderedDict[tuple[str, tuple[int, ...], bytes], Array] = OrderedDict()
_CACHE_SIZE = 64


def wigner_matrices(irreps: IrrepsSpec, q: Array) -> Array:
    """e3nn's ``D(Q)`` for each orthogonal 3×3 ``q[t]`` (shape ``(T, dim, dim)``, float64).

    Memoised on the matrices' values: the inputs and the outputs of one batch of cases, and
    every axis with the same irreps, share one computation.
    """
    q = np.ascontiguousarray(q, dtype=np.float64)
    key = (str(irreps), q.shape, q.tobytes())
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    d = _compute(irreps, q)
    _CACHE[key] = d
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return d


def _compute(irreps: IrrepsSpec, q: Array) -> Array:
    what = f"the representation 'irreps({irreps})'"
    source = _source()
    source.require(what)
    identity = np.all(q == np.eye(3), axis=(1, 2))
    pick = np.argmin(np.abs(q[:, 1, :]), axis=1)  # the k with the smallest |Q[1, k]|
    turns = _QUARTER_TURNS[pick]
    left = source.matrices(str(irreps), q @ turns.transpose(0, 2, 1))
    right = source.matrices(str(irreps), _QUARTER_TURNS)
    d = np.array(left @ right[pick], dtype=np.float64)
    d[identity] = np.eye(irreps.dim)  # exactly: the noise floor measures the model alone
    return d
