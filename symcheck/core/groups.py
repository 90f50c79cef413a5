"""Symmetry groups as a registry of small classes.

A :class:`Group` acts along every array axis that carries its label (``O(d)`` on each ``d``
axis, ``S(n)`` on each ``n`` axis). Each group samples Haar-random elements and lists
*structured probes*: specific elements that catch the bugs random sampling can miss or only
catch by luck (a reflection for a model that is SO- but not O-equivariant, a single
transposition, a one-step cyclic shift). Adding a group is adding a class with
:func:`register_group`.

>>> import numpy as np
>>> g = parse_group("O(d)", sizes={"d": 3})
>>> q = g.sample(np.random.default_rng(0))
>>> bool(np.allclose(q.matrix() @ q.matrix().T, np.eye(3)))
True
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from symcheck.core.errors import SpecError

Array = np.ndarray


class GroupElement(ABC):
    """One element ``g``, acting on a single axis of an array."""

    @abstractmethod
    def act(self, x: Array, axis: int) -> Array:
        """``g·x`` along ``axis``: with rows as tokens, ``x Qᵀ`` for a matrix on the last axis."""

    @abstractmethod
    def matrix(self) -> Array:
        """The dense matrix ``M`` with ``g·x = M x`` along the acted axis."""

    @abstractmethod
    def compose(self, other: GroupElement) -> GroupElement:
        """``self ∘ other``: act with ``other`` first."""

    @abstractmethod
    def inverse(self) -> GroupElement:
        """The element that undoes this one."""

    @abstractmethod
    def to_array(self) -> Array:
        """A compact array form for saving (a matrix, or a permutation index vector)."""


class MatrixElement(GroupElement):
    """An element given by an orthogonal matrix ``Q`` (``x ↦ Q x`` along the axis)."""

    def __init__(self, q: Array) -> None:
        self.q = np.asarray(q, dtype=np.float64)

    def act(self, x: Array, axis: int) -> Array:
        if axis in (-1, x.ndim - 1):  # rows as tokens: x Qᵀ, the common case, as one matmul
            return x @ self.q.T
        return np.moveaxis(np.tensordot(self.q, x, axes=([1], [axis])), 0, axis)

    def matrix(self) -> Array:
        return self.q

    def compose(self, other: GroupElement) -> GroupElement:
        return MatrixElement(self.q @ other.matrix())

    def inverse(self) -> GroupElement:
        return MatrixElement(self.q.T)  # orthogonal: the inverse is the transpose

    def to_array(self) -> Array:
        return self.q


class PermutationElement(GroupElement):
    """A permutation: ``(g·x)[i] = x[perm[i]]`` along the axis."""

    def __init__(self, perm: Array) -> None:
        self.perm = np.asarray(perm, dtype=np.int64)

    def act(self, x: Array, axis: int) -> Array:
        return np.take(x, self.perm, axis=axis)

    def matrix(self) -> Array:
        m = np.zeros((self.perm.size, self.perm.size))
        m[np.arange(self.perm.size), self.perm] = 1.0
        return m

    def compose(self, other: GroupElement) -> GroupElement:
        if not isinstance(other, PermutationElement):
            return MatrixElement(self.matrix() @ other.matrix())
        return PermutationElement(other.perm[self.perm])

    def inverse(self) -> GroupElement:
        return PermutationElement(np.argsort(self.perm))

    def to_array(self) -> Array:
        return self.perm


class ElementBatch(ABC):
    """One group element per case, acting case by case on arrays whose axis 0 runs over cases.

    The engine draws and applies all the cases of a check at once through these, so the
    per-case cost is a slice of a few vectorised calls rather than a Python loop.
    """

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def act(self, x: Array, axis: int) -> Array:
        """Case ``t``'s element on ``x[t]`` along ``axis`` of ``x`` (``axis`` ≥ 1)."""

    @abstractmethod
    def item(self, t: int) -> GroupElement:
        """The element of case ``t``."""

    @abstractmethod
    def take(self, indices: Sequence[int]) -> ElementBatch:
        """The batch of the given cases, in that order."""


class MatrixBatch(ElementBatch):
    """Orthogonal matrices ``q[t]`` (shape ``(T, d, d)``)."""

    def __init__(self, q: Array) -> None:
        self.q = np.asarray(q, dtype=np.float64)

    def __len__(self) -> int:
        return int(self.q.shape[0])

    def act(self, x: Array, axis: int) -> Array:
        moved = np.moveaxis(x, axis, -1)
        shape = moved.shape
        flat = moved.reshape(shape[0], -1, shape[-1])
        out = (flat @ self.q.transpose(0, 2, 1)).reshape(shape)  # x Qᵀ, case by case
        return np.moveaxis(out, -1, axis)

    def item(self, t: int) -> GroupElement:
        return MatrixElement(self.q[t])

    def take(self, indices: Sequence[int]) -> ElementBatch:
        return MatrixBatch(self.q[list(indices)])


class PermutationBatch(ElementBatch):
    """Permutations ``perm[t]`` (shape ``(T, n)``): ``(g·x)[t, i] = x[t, perm[t, i]]``."""

    def __init__(self, perm: Array) -> None:
        self.perm = np.asarray(perm, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.perm.shape[0])

    def act(self, x: Array, axis: int) -> Array:
        shape = [1] * x.ndim
        shape[0], shape[axis] = self.perm.shape
        return np.take_along_axis(x, self.perm.reshape(shape), axis=axis)

    def item(self, t: int) -> GroupElement:
        return PermutationElement(self.perm[t])

    def take(self, indices: Sequence[int]) -> ElementBatch:
        return PermutationBatch(self.perm[list(indices)])


def stack_elements(elements: Sequence[GroupElement]) -> ElementBatch:
    """Elements of one group, one per case, as a batch."""
    if all(isinstance(e, PermutationElement) for e in elements):
        return PermutationBatch(np.stack([e.to_array() for e in elements]))
    return MatrixBatch(np.stack([e.matrix() for e in elements]))


def concat_batches(batches: Sequence[ElementBatch]) -> ElementBatch:
    """Several batches of one group, one after the other."""
    perms = [b.perm for b in batches if isinstance(b, PermutationBatch)]
    if len(perms) == len(batches):
        return PermutationBatch(np.concatenate(perms))
    return MatrixBatch(np.concatenate([_dense(b) for b in batches]))


def _dense(batch: ElementBatch) -> Array:
    if isinstance(batch, MatrixBatch):
        return batch.q
    return np.stack([batch.item(t).matrix() for t in range(len(batch))])


class Group(ABC):
    """A group acting on the axes labelled :attr:`label`, of size :attr:`size`."""

    symbol: ClassVar[str]
    #: the symbol of a registered group this one is a subgroup of (SO ⊂ O, C ⊂ S): acting on
    #: the same label as that group, it adds nothing to their product
    within: ClassVar[str | None] = None
    summary: ClassVar[str]

    def __init__(self, label: str, size: int) -> None:
        self.label = label
        self.size = int(size)

    @property
    def name(self) -> str:
        return f"{self.symbol}({self.label})"

    def identity(self) -> GroupElement:
        return self.element(np.arange(self.size))

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> GroupElement:
        """A Haar-random (uniform) element."""

    @abstractmethod
    def sample_many(self, rng: np.random.Generator, count: int) -> ElementBatch:
        """``count`` independent Haar-random elements, drawn in one go."""

    @abstractmethod
    def probes(self, rng: np.random.Generator) -> list[tuple[str, GroupElement]]:
        """Named structured elements that target common bugs."""

    @abstractmethod
    def contains(self, element: GroupElement, atol: float = 1e-10) -> bool:
        """Whether ``element`` belongs to this group (used by the group-law tests)."""

    @abstractmethod
    def element(self, data: Array) -> GroupElement:
        """Rebuild an element from :meth:`GroupElement.to_array` output (replays)."""

    @abstractmethod
    def neighbour(
        self, element: GroupElement, rng: np.random.Generator, scale: float
    ) -> GroupElement:
        """A random element near ``element`` (the move of the worst-case local search)."""

    def __repr__(self) -> str:
        return f"{self.name} with {self.label}={self.size}"


GROUPS: dict[str, type[Group]] = {}


def register_group(cls: type[Group]) -> type[Group]:
    """Class decorator: make ``cls`` available as ``SYMBOL(label)`` on the command line."""
    GROUPS[cls.symbol] = cls
    return cls


def product_factors(groups: Sequence[Group]) -> tuple[Group, ...]:
    """The groups whose product is the product of ``groups``: a subgroup of another group on
    the same label (``SO(d)`` beside ``O(d)``, ``C(n)`` beside ``S(n)``) is absorbed by it."""
    return tuple(
        g for g in groups
        if not any(h.label == g.label and h.symbol == g.within for h in groups)
    )


def haar_orthogonal(rng: np.random.Generator, n: int) -> Array:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian, signs fixed by ``diag(R)``).

    Without the sign fix QR is biased; with it the law is exactly Haar (Mezzadri 2007).
    """
    from scipy.linalg import lapack

    # Householder QR straight from LAPACK: the same factorisation as np.linalg.qr at a
    # quarter of its call overhead, which matters because every case draws one.
    qr, tau, _, _ = lapack.dgeqrf(rng.standard_normal((n, n)))
    q, _, _ = lapack.dorgqr(qr, tau)
    return q * np.sign(np.diag(qr))


def haar_orthogonal_many(rng: np.random.Generator, count: int, n: int) -> Array:
    """``count`` independent Haar matrices at once (stacked QR, the same sign fix)."""
    q, r = np.linalg.qr(rng.standard_normal((count, n, n)))
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


def plane_rotation(n: int, i: int, j: int, angle: float) -> Array:
    """Rotation by ``angle`` in the coordinate plane ``(i, j)``."""
    m = np.eye(n)
    c, s = np.cos(angle), np.sin(angle)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def _is_orthogonal(m: Array, n: int, atol: float) -> bool:
    return m.shape == (n, n) and bool(np.allclose(m @ m.T, np.eye(n), atol=atol))


def _is_permutation(m: Array, n: int) -> bool:
    return (
        m.shape == (n, n)
        and bool(np.all((m == 0) | (m == 1)))
        and bool(np.all(m.sum(0) == 1))
        and bool(np.all(m.sum(1) == 1))
    )


@register_group
class Orthogonal(Group):
    symbol = "O"
    summary = "orthogonal matrices, Haar measure; probes: reflections, plane rotation, swap"

    def sample(self, rng: np.random.Generator) -> GroupElement:
        return MatrixElement(haar_orthogonal(rng, self.size))

    def sample_many(self, rng: np.random.Generator, count: int) -> ElementBatch:
        return MatrixBatch(haar_orthogonal_many(rng, count, self.size))

    def probes(self, rng: np.random.Generator) -> list[tuple[str, GroupElement]]:
        n = self.size
        out: list[tuple[str, GroupElement]] = []
        flip = np.eye(n)
        flip[0, 0] = -1.0
        out.append(("reflection-e1", MatrixElement(flip)))
        v = rng.standard_normal(n)
        v /= np.linalg.norm(v)
        out.append(("householder", MatrixElement(np.eye(n) - 2.0 * np.outer(v, v))))
        if n >= 2:
            i, j = rng.choice(n, size=2, replace=False)
            angle = float(rng.uniform(0.1, np.pi - 0.1))
            out.append(("plane-rotation", MatrixElement(plane_rotation(n, int(i), int(j), angle))))
            swap = np.eye(n)[[1, 0, *range(2, n)]]
            out.append(("coordinate-swap", MatrixElement(swap)))
        return out

    def contains(self, element: GroupElement, atol: float = 1e-10) -> bool:
        return _is_orthogonal(element.matrix(), self.size, atol)

    def element(self, data: Array) -> GroupElement:
        data = np.asarray(data, dtype=np.float64)
        return MatrixElement(np.eye(self.size) if data.ndim == 1 else data)

    def neighbour(
        self, element: GroupElement, rng: np.random.Generator, scale: float
    ) -> GroupElement:
        """``cay(scale·A)·Q`` for a random skew-symmetric ``A`` of unit Frobenius norm: a step
        in Lie-algebra coordinates, which stays in the same connected component (det kept).

        The Cayley map ``(I − A/2)⁻¹(I + A/2)`` agrees with ``exp(A)`` to second order, is
        exactly orthogonal, and costs one linear solve instead of a matrix exponential.
        """
        g = rng.standard_normal((self.size, self.size))
        a = g - g.T
        norm = float(np.linalg.norm(a))
        if norm == 0:
            return element
        half = 0.5 * scale * a / norm
        eye = np.eye(self.size)
        return MatrixElement(np.linalg.solve(eye - half, eye + half) @ element.matrix())


@register_group
class SpecialOrthogonal(Orthogonal):
    symbol = "SO"
    within = "O"
    summary = "rotations (det +1), Haar measure; probes: plane rotations, half-turn"

    def sample(self, rng: np.random.Generator) -> GroupElement:
        q = haar_orthogonal(rng, self.size)
        if np.linalg.det(q) < 0:
            q[:, 0] = -q[:, 0]  # Haar on O(d) times a fixed reflection class stays Haar on SO(d)
        return MatrixElement(q)

    def sample_many(self, rng: np.random.Generator, count: int) -> ElementBatch:
        q = haar_orthogonal_many(rng, count, self.size)
        flip = np.linalg.det(q) < 0
        q[flip, :, 0] = -q[flip, :, 0]
        return MatrixBatch(q)

    def probes(self, rng: np.random.Generator) -> list[tuple[str, GroupElement]]:
        n = self.size
        if n < 2:
            return []
        i, j = (int(k) for k in rng.choice(n, size=2, replace=False))
        angle = float(rng.uniform(0.1, np.pi - 0.1))
        return [
            ("plane-rotation", MatrixElement(plane_rotation(n, i, j, angle))),
            ("half-turn-e1e2", MatrixElement(plane_rotation(n, 0, 1, np.pi))),
            ("quarter-turn-e1e2", MatrixElement(plane_rotation(n, 0, 1, np.pi / 2))),
        ]

    def contains(self, element: GroupElement, atol: float = 1e-10) -> bool:
        m = element.matrix()
        return _is_orthogonal(m, self.size, atol) and bool(np.linalg.det(m) > 0)


@register_group
class Symmetric(Group):
    symbol = "S"
    summary = "all permutations, uniform; probes: transpositions, cyclic shift, reversal"

    def sample(self, rng: np.random.Generator) -> GroupElement:
        return PermutationElement(rng.permutation(self.size))

    def sample_many(self, rng: np.random.Generator, count: int) -> ElementBatch:
        rows = np.broadcast_to(np.arange(self.size), (count, self.size))
        return PermutationBatch(rng.permuted(rows, axis=1))

    def probes(self, rng: np.random.Generator) -> list[tuple[str, GroupElement]]:
        n = self.size
        if n < 2:
            return []
        first = np.arange(n)
        first[[0, 1]] = [1, 0]
        i, j = (int(k) for k in rng.choice(n, size=2, replace=False))
        rand = np.arange(n)
        rand[[i, j]] = [j, i]
        return [
            ("transposition-01", PermutationElement(first)),
            ("transposition", PermutationElement(rand)),
            ("cyclic-shift", PermutationElement(np.roll(np.arange(n), 1))),
            ("reversal", PermutationElement(np.arange(n)[::-1].copy())),
        ]

    def contains(self, element: GroupElement, atol: float = 1e-10) -> bool:
        return _is_permutation(element.matrix(), self.size)

    def element(self, data: Array) -> GroupElement:
        return PermutationElement(np.asarray(data, dtype=np.int64))

    def neighbour(
        self, element: GroupElement, rng: np.random.Generator, scale: float
    ) -> GroupElement:
        """Compose with one random transposition (more of them for a large ``scale``)."""
        perm = np.arange(self.size)
        if self.size < 2:
            return element
        for _ in range(1 + int(scale)):
            i, j = rng.choice(self.size, size=2, replace=False)
            perm[[i, j]] = perm[[j, i]]
        return PermutationElement(perm).compose(element)


@register_group
class Cyclic(Symmetric):
    symbol = "C"
    within = "S"
    summary = "cyclic shifts, uniform; probes: shift by +1 and -1"

    def sample(self, rng: np.random.Generator) -> GroupElement:
        return PermutationElement(np.roll(np.arange(self.size), int(rng.integers(self.size))))

    def sample_many(self, rng: np.random.Generator, count: int) -> ElementBatch:
        shifts = rng.integers(self.size, size=count)
        return PermutationBatch((np.arange(self.size)[None, :] - shifts[:, None]) % self.size)

    def probes(self, rng: np.random.Generator) -> list[tuple[str, GroupElement]]:
        n = self.size
        if n < 2:
            return []
        return [
            ("shift+1", PermutationElement(np.roll(np.arange(n), 1))),
            ("shift-1", PermutationElement(np.roll(np.arange(n), -1))),
        ]

    def neighbour(
        self, element: GroupElement, rng: np.random.Generator, scale: float
    ) -> GroupElement:
        """Compose with a shift by +1 or -1."""
        shift = np.roll(np.arange(self.size), 1 if rng.random() < 0.5 else -1)
        return PermutationElement(shift).compose(element)

    def contains(self, element: GroupElement, atol: float = 1e-10) -> bool:
        if not super().contains(element, atol):
            return False
        perm = np.argmax(element.matrix(), axis=1)
        return bool(np.all(np.diff(perm) % self.size == 1)) if self.size > 1 else True


_GROUP_SYNTAX = re.compile(r"^\s*([A-Za-z]+)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$")


def parse_group_name(text: str) -> tuple[str, str]:
    """Split ``"O(d)"`` into ``("O", "d")``; unknown symbols list the registry."""
    match = _GROUP_SYNTAX.match(text) if isinstance(text, str) else None
    if match is None:
        raise SpecError(
            f"--group: {text!r} is not of the form NAME(label), e.g. 'O(d)' or 'S(n)'"
        )
    symbol, label = match.group(1), match.group(2)
    if symbol not in GROUPS:
        known = ", ".join(f"{s}(…)" for s in GROUPS)
        raise SpecError(f"--group: unknown group {symbol!r} in {text!r}; known groups: {known}")
    return symbol, label


def parse_group(text: str, sizes: Mapping[str, int]) -> Group:
    """Build the group named ``text`` for the size of its label."""
    symbol, label = parse_group_name(text)
    if label not in sizes:
        raise SpecError(f"--group: {text!r} acts on {label!r}, which has no size")
    return GROUPS[symbol](label, sizes[label])
