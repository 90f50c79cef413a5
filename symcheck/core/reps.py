"""Representations: how a group element acts on one axis of an array.

A group draws elements (:mod:`symcheck.core.groups`); a representation turns an element into
its action on one axis. An axis token in a spec is ``label`` or ``label:rep``; the group that
acts on ``label`` acts on that axis through ``rep``:

- ``vector`` (the default): ``x Qᵀ`` for a matrix group, a gather for a permutation; under the
  Euclidean groups a vector (a difference of points) ignores the translation;
- ``axial``: a pseudovector, ``det(Q)·x Qᵀ`` (a cross product, an angular momentum);
- ``point``: ``x Qᵀ + t`` under ``E(d)``, ``SE(d)``, ``T(d)``; like a vector under O/SO;
- ``irreps(1x0e+1x1o+1x2e)``: e3nn irreps, ``x D(Q)ᵀ`` with e3nn's matrices
  (:mod:`symcheck.core.irreps`); the axis size is the irreps dimension.

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
from symcheck.core.groups import Elements, Group, Matrices
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
