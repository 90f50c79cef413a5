"""Representations: how a group element acts on one axis of an array.

A group draws elements (:mod:`symcheck.core.groups`); a representation turns an element into
its action on one axis. An axis token in a spec is ``label`` or ``label:rep``; the group that
acts on ``label`` acts on that axis through ``rep``. ``vector`` (the default, ``x Qᵀ`` for a
matrix group, a gather for a permutation) is the defining representation. A representation may
give the axis its own size (:meth:`Representation.dim`) and may refuse a group it cannot give
meaning to (:meth:`Representation.check`). Adding one is adding a class with
:func:`register_representation`.

>>> import numpy as np
>>> from symcheck.core.groups import parse_group
>>> g = parse_group("O(d)", {"d": 3})
>>> q = g.sample(np.random.default_rng(0), 1)
>>> x = np.ones((1, 5, 3))
>>> bool(np.allclose(representation("vector").act(q, x, 2), x @ q.matrices()[0].T))
True
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from symcheck.core.errors import SpecError
from symcheck.core.groups import Elements, Group

Array = np.ndarray
DEFAULT = "vector"


class Representation(ABC):
    """The action of a group's elements on one axis."""

    name: ClassVar[str]
    summary: ClassVar[str]

    def __init__(self, argument: str | None = None) -> None:
        self.argument = argument

    @property
    def tag(self) -> str:
        """How the representation is written after ``label:`` in a spec."""
        return self.name if self.argument is None else f"{self.name}({self.argument})"

    def dim(self, size: int) -> int:
        """The axis size when the label's size is ``size`` (the defining dimension)."""
        return size

    def check(self, group: Group, where: str) -> None:  # noqa: B027 (most accept any group)
        """Raise a :class:`SpecError` when this representation means nothing for ``group``."""

    @abstractmethod
    def act(self, elements: Elements, x: Array, axis: int) -> Array:
        """Case ``t``'s element on ``x[t]`` along ``axis`` (≥ 1; axis 0 runs over cases)."""


REPRESENTATIONS: dict[str, type[Representation]] = {}


def register_representation(cls: type[Representation]) -> type[Representation]:
    """Class decorator: make ``cls`` available as ``label:NAME`` in specs."""
    REPRESENTATIONS[cls.name] = cls
    return cls


@register_representation
class Vector(Representation):
    name = "vector"
    summary = "the defining representation: x Qᵀ for matrices, a gather for permutations"

    def act(self, elements: Elements, x: Array, axis: int) -> Array:
        return elements.act(x, axis)


_TAG = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$")


def representation(tag: str) -> Representation:
    """The representation written ``tag`` (``vector``, or ``name(argument)``)."""
    match = _TAG.match(tag.strip())
    if match is None or match.group(1) not in REPRESENTATIONS:
        known = ", ".join(sorted(REPRESENTATIONS))
        raise SpecError(f"unknown representation {tag!r}", argument="specs", value=tag,
                        expected=f"one of {known}")
    return REPRESENTATIONS[match.group(1)](match.group(2))
