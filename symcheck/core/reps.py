"""Representations: how a group element acts on one axis of an array.

A group draws elements (:mod:`symcheck.core.groups`); a representation turns an element into
its action on one axis. An axis token in a spec is ``label`` or ``label:rep``; the group that
acts on ``label`` acts on that axis through ``rep``:

- ``vector`` (the default): ``x Qᵀ`` for a matrix group, a gather for a permutation; under the
  Euclidean groups a vector (a difference of points) ignores the translation;
- ``axial``: a pseudovector, ``det(Q)·x Qᵀ`` (a cross product, an angular momentum);
- ``point``: ``x Qᵀ + t`` under ``E(d)``, ``SE(d)``, ``T(d)``; like a vector under O/SO;
- ``irreps(1x0e+1x1o+1x2e)``: e3nn irreps, ``x D(Q)ᵀ`` with e3nn's matrices
  (:mod:`symcheck.core.irreps`); the axis size is the irreps dimension;
- ``index(n)``: the array's *values* are positions along the axes labelled ``n`` (nearest
  neighbours, an argsort, an edge list): a permutation of ``n`` relabels them, ``v ↦ p⁻¹(v)``,
  besides moving the axis itself (a gather, as for a vector);
- ``set``: the order along this axis carries no meaning (the rows of an edge list): both sides
  are compared with their rows in sorted order;
- ``complement(3,2,1,0)``: a channel axis that every reversal (``R``, ``D``) permutes by a
  fixed involution (DNA's reverse-complement swaps A↔T and C↔G); the axis size is its length.

A representation normally acts with the group on its own label; ``index(n)`` and
``complement(…)`` act with groups on *other* labels too (:meth:`Representation.crosses`).

A representation may give the axis its own size (:meth:`Representation.dim`) and refuses a
group it cannot give meaning to (:meth:`Representation.check`). Adding one is adding a class
with :func:`register_representation`.

>>> import numpy as np
>>> from symcheck.core.groups import parse_group
>>> g = parse_group("O(d)", {"d": 3})
>>> q = g.sample(np.random.default_rng(0), 1)
>>> x = np.ones((1, 5, 3))
>>> bool(np.allclose(representation("vector").act(q, x, 2), x @ q.matrices()[0].T))
True
>>> sign = q.determinants()[0]
>>> bool(np.allclose(representation("axial").act(q, x, 2), sign * x @ q.matrices()[0].T))
True
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import ClassVar

import numpy as np

from symcheck.core.errors import SpecError
from symcheck.core.groups import Elements, Group, Matrices, Permutations, Symmetric
from symcheck.core.irreps import IrrepsSpec, parse_irreps, require_e3nn, wigner_matrices

Array = np.ndarray
DEFAULT = "vector"


class Representation(ABC):
    """The action of a group's elements on one axis."""

    name: ClassVar[str]
    summary: ClassVar[str]
    #: ``name(argument)`` is required (irreps) rather than refused (every other one)
    takes_argument: ClassVar[bool] = False
    #: the axis moves with translations (a point), rather than ignoring them
    translated: ClassVar[bool] = False

    def __init__(self, argument: str | None = None) -> None:
        if self.takes_argument and argument is None:
            raise SpecError(f"{self.name!r} needs an argument, e.g. {self.name}(…)",
                            argument="specs", value=self.name)
        if not self.takes_argument and argument is not None:
            raise SpecError(f"{self.name!r} takes no argument, got {self.name}({argument})",
                            argument="specs", value=f"{self.name}({argument})")
        self.argument = argument

    @property
    def tag(self) -> str:
        """How the representation is written after ``label:`` in a spec."""
        return self.name if self.argument is None else f"{self.name}({self.argument})"

    def dim(self, size: int) -> int:
        """The axis size when the label's size is ``size`` (the defining dimension)."""
        return size

    def fixed_dim(self) -> int | None:
        """The axis size when the representation sets it whatever the label's size (irreps),
        else ``None`` (the axis has the label's size and binds it)."""
        return None

    def check(self, group: Group, where: str) -> None:  # noqa: B027 (most accept any group)
        """Raise a :class:`SpecError` when this representation means nothing for ``group``
        (``where`` is the logical argument the axis belongs to, ``inputs`` or ``outputs``)."""

    @abstractmethod
    def act(self, elements: Elements, x: Array, axis: int) -> Array:
        """Case ``t``'s element on ``x[t]`` along ``axis`` (≥ 1; axis 0 runs over cases)."""

    #: the order of this axis carries no meaning: compare sides with its rows sorted
    unordered: ClassVar[bool] = False

    def crosses(self, group: Group) -> bool:
        """Whether ``group``, acting on another label, acts on this axis too (an index array's
        values, a complemented channel); :meth:`act_across` is that action."""
        return False

    def act_across(self, group: Group, elements: Elements, x: Array, axis: int) -> Array:
        """The action of ``group`` (on another label) on ``x`` (cases first), see
        :meth:`crosses`."""
        return x

    def check_across(self, group: Group, where: str) -> None:  # noqa: B027 (most accept any)
        """Raise a :class:`SpecError` when ``group`` crosses to this axis without meaning."""

    def _need_orthogonal(self, group: Group, where: str, what: str) -> None:
        if not group.orthogonal:
            raise SpecError(
                f"{self.tag!r} is {what}, which {group.name} cannot act on", argument=where,
                value=self.tag, expected="a group of rotations and reflections on its label: "
                "O, SO, E, SE or T",
            )


REPRESENTATIONS: dict[str, type[Representation]] = {}


def register_representation(cls: type[Representation]) -> type[Representation]:
    """Class decorator: make ``cls`` available as ``label:NAME`` in specs."""
    REPRESENTATIONS[cls.name] = cls
    return cls


@register_representation
class Vector(Representation):
    name = "vector"
    summary = ("the defining representation: x Qᵀ for matrices (translations ignored), a "
               "gather for permutations")

    def act(self, elements: Elements, x: Array, axis: int) -> Array:
        return elements.linear().act(x, axis)


def _signs(values: Array, ndim: int) -> Array:
    """``±1`` per case, shaped to broadcast against an array of rank ``ndim``."""
    return np.where(values < 0, -1.0, 1.0).reshape((-1,) + (1,) * (ndim - 1))


@register_representation
class Axial(Representation):
    name = "axial"
    summary = "a pseudovector: det(Q)·x Qᵀ (a cross product); translations ignored"

    def check(self, group: Group, where: str) -> None:
        self._need_orthogonal(group, where, "an axial vector (det(Q)·Q)")

    def act(self, elements: Elements, x: Array, axis: int) -> Array:
        linear = elements.linear()
        return np.asarray(_signs(linear.determinants(), x.ndim) * linear.act(x, axis))


@register_representation
class Point(Representation):
    name = "point"
    summary = "a point: x Qᵀ + t under E, SE and T; like a vector under O and SO"
    translated = True

    def check(self, group: Group, where: str) -> None:
        self._need_orthogonal(group, where, "a point (x Qᵀ + t)")

    def act(self, elements: Elements, x: Array, axis: int) -> Array:
        return elements.act(x, axis)  # the defining action: affine for Euclidean motions


@register_representation
class Irreps(Representation):
    name = "irreps"
    summary = ("e3nn irreps, x D(Q)ᵀ in e3nn's basis and parity conventions (needs "
               "symcheck[e3nn]); the axis size is the irreps dimension")
    takes_argument = True

    def __init__(self, argument: str | None = None) -> None:
        super().__init__(argument)
        self.irreps: IrrepsSpec = parse_irreps(str(argument))
        self.argument = str(self.irreps)

    def dim(self, size: int) -> int:
        return self.irreps.dim

    def fixed_dim(self) -> int | None:
        return self.irreps.dim

    def check(self, group: Group, where: str) -> None:
        self._need_orthogonal(group, where, "e3nn irreps (representations of O(3))")
        if group.size != 3:
            raise SpecError(
                f"{self.tag!r} needs a group of 3-D rotations, but {group.name} has "
                f"{group.label}={group.size}", argument=where, value=self.tag,
                expected=f"{group.label}=3",
            )
        require_e3nn(f"the representation {self.tag!r}")

    def act(self, elements: Elements, x: Array, axis: int) -> Array:
        d = wigner_matrices(self.irreps, elements.linear().matrices())
        return Matrices(d).act(x, axis)  # x D(Q)ᵀ, case by case


@register_representation
class Index(Vector):
    name = "index"
    summary = ("the values index the axis labelled LABEL (kNN indices, argsort, edge lists): a "
               "permutation of LABEL relabels them v ↦ p⁻¹(v); the axis itself moves as a "
               "vector")
    takes_argument = True

    def __init__(self, argument: str | None = None) -> None:
        super().__init__(argument)
        self.target = str(argument).strip()
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", self.target):
            raise SpecError(f"index({argument}) must name one label, e.g. index(n)",
                            argument="specs", value=f"index({argument})")
        self.argument = self.target

    def crosses(self, group: Group) -> bool:
        return group.label == self.target

    def check_across(self, group: Group, where: str) -> None:
        """Only a permutation of the indexed axis relabels positions."""
        if not isinstance(group, Symmetric):
            raise SpecError(f"{self.tag!r} holds positions along {group.label!r}, which "
                            f"{group.name} does not permute", argument=where, value=self.tag,
                            expected=f"a permutation group on {group.label!r}: S, C, R or D")

    def act_across(self, group: Group, elements: Elements, x: Array, axis: int) -> Array:
        return relabel(elements, x)


def relabel(elements: Elements, x: Array) -> Array:
    """Case ``t``'s positions ``x[t]`` after its permutation moved the axis they point into:
    the entry at position ``v`` moved to ``p⁻¹(v)``. Values that are no position (a ``-1``
    for padding, a non-integer) are left as they are.

    >>> relabel(Permutations(np.array([2, 0, 1])), np.array([[0.0, 2.0, -1.0]]))
    array([[ 1.,  0., -1.]])
    """
    assert isinstance(elements, Permutations)  # index(...) checks its group permutes
    inverse = np.argsort(elements.perm, axis=1)
    n = inverse.shape[1]
    flat = np.asarray(x).reshape(x.shape[0], -1)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(flat) & (flat == np.round(flat)) & (flat >= 0) & (flat < n)
    safe = np.where(valid, flat, 0).astype(np.int64)
    moved = np.take_along_axis(inverse, safe, axis=1).astype(flat.dtype)
    return np.where(valid, moved, flat).reshape(x.shape)


@register_representation
class Unordered(Vector):
    name = "set"
    summary = ("the order along this axis carries no meaning (an edge list's rows): compared "
               "with rows sorted; moves as a vector")
    unordered = True


@register_representation
class Complement(Representation):
    name = "complement"
    summary = ("a channel axis every reversal (R, D) permutes by a fixed involution, e.g. "
               "complement(3,2,1,0) for ACGT (A↔T, C↔G); the axis size is its length")
    takes_argument = True

    def __init__(self, argument: str | None = None) -> None:
        super().__init__(argument)
        parts = [p for p in re.split(r"[\s,]+", str(argument).strip()) if p]
        shown = f"complement({argument})"
        if not parts or not all(p.isdigit() for p in parts):
            raise SpecError(f"{shown} must list channel indices, e.g. complement(3,2,1,0)",
                            argument="specs", value=shown)
        perm = np.array([int(p) for p in parts])
        if sorted(perm.tolist()) != list(range(len(perm))) or \
                not np.array_equal(perm[perm], np.arange(len(perm))):
            raise SpecError(f"{shown} must be a permutation of 0..{len(perm) - 1} that undoes "
                            "itself (a reversal applied twice is no change)", argument="specs",
                            value=shown)
        self.perm = perm
        self.argument = ",".join(str(int(i)) for i in perm)

    def dim(self, size: int) -> int:
        return len(self.perm)

    def fixed_dim(self) -> int | None:
        return len(self.perm)

    def check(self, group: Group, where: str) -> None:
        raise SpecError(f"{self.tag!r} is a channel axis that reversals permute; "
                        f"{group.name} cannot act on it", argument=where, value=self.tag,
                        expected="a reversal group on the sequence label, e.g. R(n)")

    def act(self, elements: Elements, x: Array, axis: int) -> Array:
        return x  # never its own label's group (check refuses one)

    def crosses(self, group: Group) -> bool:
        return group.oriented

    def act_across(self, group: Group, elements: Elements, x: Array, axis: int) -> Array:
        flips = group.reverses(elements)
        assert flips is not None  # crosses() holds
        swapped = np.take(x, self.perm, axis=axis)
        return np.where(flips.reshape((-1,) + (1,) * (x.ndim - 1)), swapped, x)


_TAG = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$")


@lru_cache(maxsize=256)
def representation(tag: str) -> Representation:
    """The representation written ``tag`` (``vector``, or ``name(argument)``); one shared
    object per tag (representations hold no state beyond their argument)."""
    match = _TAG.match(tag.strip())
    if match is None or match.group(1) not in REPRESENTATIONS:
        known = ", ".join(sorted(REPRESENTATIONS))
        raise SpecError(f"unknown representation {tag!r}", argument="specs", value=tag,
                        expected=f"one of {known}")
    return REPRESENTATIONS[match.group(1)](match.group(2))
