"""Symmetry groups as a registry of small classes, and batches of their elements.

A :class:`Group` acts on the axes that carry its label (``O(d)`` on each ``d`` axis, ``S(n)``
on each ``n`` axis). It *draws* elements — Haar-random ones, and *structured probes*: specific
elements that catch the bugs random sampling misses or only catches by luck (a reflection for a
model that is SO- but not O-equivariant, a single transposition, a one-step cyclic shift). How
an element acts on one axis is the business of a representation
(:mod:`symcheck.core.reps`), not of the group: the same rotation turns a vector, flips an
axial vector under reflections, or acts through a Wigner matrix on irreps.

Elements always come as :class:`Elements`, a batch with one element per case; a single element
is a batch of one. Adding a group is adding a class with :func:`register_group`.

>>> import numpy as np
>>> g = parse_group("O(d)", sizes={"d": 3})
>>> q = g.sample(np.random.default_rng(0), 4)
>>> len(q), g.contains(q)
(4, True)
>>> bool(np.allclose(q.matrices()[0] @ q.matrices()[0].T, np.eye(3)))
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


class Elements(ABC):
    """A batch of group elements, one per case (axis 0 of every array it holds)."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def take(self, indices: Sequence[int]) -> Elements:
        """The batch of the given cases, in that order."""

    @abstractmethod
    def matrices(self) -> Array:
        """The defining matrices ``M[t]`` (shape ``(T, k, k)``): ``g·x = M x`` on one axis."""

    @abstractmethod
    def act(self, x: Array, axis: int) -> Array:
        """The defining action of case ``t``'s element on ``x[t]`` along ``axis`` (≥ 1)."""

    @abstractmethod
    def to_arrays(self) -> dict[str, Array]:
        """Compact arrays for saving (a matrix, or a permutation index vector), stacked."""

    @abstractmethod
    def inverse(self) -> Elements:
        """The elements that undo these, case by case."""

    def item(self, t: int) -> Elements:
        """Case ``t``'s element, as a batch of one."""
        return self.take([t])

    def repeat(self, count: int) -> Elements:
        """This batch of one, repeated for ``count`` cases."""
        return self.take([0] * count)

    def compose(self, other: Elements) -> Elements:
        """``self ∘ other`` case by case (act with ``other`` first)."""
        return Matrices(self.matrices() @ other.matrices())

    def determinants(self) -> Array:
        """``det`` of each defining matrix (±1 for orthogonal elements and permutations)."""
        return np.linalg.det(self.matrices())


class Matrices(Elements):
    """Orthogonal matrices ``q[t]`` (shape ``(T, d, d)``): ``x ↦ x Qᵀ`` on an axis of rows."""

    def __init__(self, q: Array) -> None:
        q = np.asarray(q, dtype=np.float64)
        self.q = q[None] if q.ndim == 2 else q

    def __len__(self) -> int:
        return int(self.q.shape[0])

    def take(self, indices: Sequence[int]) -> Elements:
        return Matrices(self.q[list(indices)])

    def matrices(self) -> Array:
        return self.q

    def act(self, x: Array, axis: int) -> Array:
        moved = np.moveaxis(x, axis, -1)
        shape = moved.shape
        flat = moved.reshape(shape[0], -1, shape[-1])
        out = (flat @ self.q.transpose(0, 2, 1)).reshape(shape)  # x Qᵀ, case by case
        return np.moveaxis(out, -1, axis)

    def inverse(self) -> Elements:
        return Matrices(self.q.transpose(0, 2, 1))  # orthogonal: the inverse is the transpose

    def to_arrays(self) -> dict[str, Array]:
        return {"element": self.q}


class Permutations(Elements):
    """Permutations ``perm[t]`` (shape ``(T, n)``): ``(g·x)[t, i] = x[t, perm[t, i]]``."""

    def __init__(self, perm: Array) -> None:
        perm = np.asarray(perm, dtype=np.int64)
        self.perm = perm[None] if perm.ndim == 1 else perm

    def __len__(self) -> int:
        return int(self.perm.shape[0])

    def take(self, indices: Sequence[int]) -> Elements:
        return Permutations(self.perm[list(indices)])

    def matrices(self) -> Array:
        count, n = self.perm.shape
        m = np.zeros((count, n, n))
        m[np.arange(count)[:, None], np.arange(n)[None, :], self.perm] = 1.0
        return m

    def act(self, x: Array, axis: int) -> Array:
        shape = [1] * x.ndim
        shape[0], shape[axis] = self.perm.shape
        return np.take_along_axis(x, self.perm.reshape(shape), axis=axis)

    def compose(self, other: Elements) -> Elements:
        if not isinstance(other, Permutations):
            return super().compose(other)
        return Permutations(np.take_along_axis(other.perm, self.perm, axis=1))

    def inverse(self) -> Elements:
        return Permutations(np.argsort(self.perm, axis=1))

    def to_arrays(self) -> dict[str, Array]:
        return {"element": self.perm}


def concat_elements(batches: Sequence[Elements]) -> Elements:
    """Several batches of one group, one after the other."""
    if all(isinstance(b, Permutations) for b in batches):
        return Permutations(np.concatenate([b.perm for b in batches]))  # type: ignore[attr-defined]
    return Matrices(np.concatenate([b.matrices() for b in batches]))


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

    @abstractmethod
    def identity(self, count: int = 1) -> Elements:
        """``count`` copies of the identity."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, count: int) -> Elements:
        """``count`` independent Haar-random (uniform) elements, drawn in one go."""

    @abstractmethod
    def sample_one(self, rng: np.random.Generator) -> Elements:
        """One Haar-random element (a batch of one) from its own, unbatched draw."""

    @abstractmethod
    def probes(self, rng: np.random.Generator) -> list[tuple[str, Elements]]:
        """Named structured elements (each a batch of one) that target common bugs."""

    @abstractmethod
    def contains(self, elements: Elements, atol: float = 1e-10) -> bool:
        """Whether every element of the batch belongs to this group."""

    @abstractmethod
    def from_arrays(self, arrays: Mapping[str, Array]) -> Elements:
        """Rebuild elements from :meth:`Elements.to_arrays` output (replays)."""

    @abstractmethod
    def neighbour(self, element: Elements, rng: np.random.Generator, scale: float) -> Elements:
        """A random element near ``element`` (the move of the worst-case local search)."""

    def __repr__(self) -> str:
        return f"{self.name} with {self.label}={self.size}"


GROUPS: dict[str, type[Group]] = {}


def register_group(cls: type[Group]) -> type[Group]:
    """Class decorator: make ``cls`` available as ``SYMBOL(label)``."""
    GROUPS[cls.symbol] = cls
    return cls


def product_factors(groups: Sequence[Group]) -> tuple[Group, ...]:
    """The groups whose product is the product of ``groups``: a subgroup of another group on
    the same label (``SO(d)`` beside ``O(d)``, ``C(n)`` beside ``S(n)``) is absorbed by it."""
    return tuple(
        g for g in groups
        if not any(h.label == g.label and h.symbol == g.within for h in groups)
    )


def product_name(groups: Sequence[Group]) -> str:
    """The display name of a product of groups, e.g. ``O(d) × S(n)``."""
    return " × ".join(g.name for g in groups)


def haar_orthogonal(rng: np.random.Generator, n: int) -> Array:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian, signs fixed by ``diag(R)``).

    Without the sign fix QR is biased; with it the law is exactly Haar (Mezzadri 2007).
    """
    from scipy.linalg import lapack

    # Householder QR straight from LAPACK: the same factorisation as np.linalg.qr at a
    # quarter of its call overhead, which matters when a check draws one at a time.
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


def _orthogonal(q: Array, n: int, atol: float) -> bool:
    if q.ndim != 3 or q.shape[1:] != (n, n) or not np.all(np.isfinite(q)):
        return False
    eye = np.broadcast_to(np.eye(n), q.shape)
    return bool(np.allclose(q @ q.transpose(0, 2, 1), eye, atol=atol))


def _matrix_data(arrays: Mapping[str, Array], n: int, group: str) -> Array:
    data = np.asarray(arrays["element"], dtype=np.float64)
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3 or data.shape[1:] != (n, n):
        raise SpecError(
            f"a {group} element must be a {n}×{n} matrix, got shape {tuple(data.shape)}",
            argument="element", value=tuple(data.shape),
        )
    return data


@register_group
class Orthogonal(Group):
    symbol = "O"
    summary = "orthogonal matrices, Haar measure; probes: reflections, plane rotation, swap"

    def identity(self, count: int = 1) -> Elements:
        return Matrices(np.broadcast_to(np.eye(self.size), (count, self.size, self.size)).copy())

    def sample(self, rng: np.random.Generator, count: int) -> Elements:
        return Matrices(haar_orthogonal_many(rng, count, self.size))

    def sample_one(self, rng: np.random.Generator) -> Elements:
        return Matrices(haar_orthogonal(rng, self.size))

    def probes(self, rng: np.random.Generator) -> list[tuple[str, Elements]]:
        n = self.size
        out: list[tuple[str, Elements]] = []
        flip = np.eye(n)
        flip[0, 0] = -1.0
        out.append(("reflection-e1", Matrices(flip)))
        v = rng.standard_normal(n)
        v /= np.linalg.norm(v)
        out.append(("householder", Matrices(np.eye(n) - 2.0 * np.outer(v, v))))
        if n >= 2:
            i, j = rng.choice(n, size=2, replace=False)
            angle = float(rng.uniform(0.1, np.pi - 0.1))
            out.append(("plane-rotation", Matrices(plane_rotation(n, int(i), int(j), angle))))
            swap = np.eye(n)[[1, 0, *range(2, n)]]
            out.append(("coordinate-swap", Matrices(swap)))
        return out

    def contains(self, elements: Elements, atol: float = 1e-10) -> bool:
        return isinstance(elements, Matrices | Permutations) and _orthogonal(
            elements.matrices(), self.size, atol)

    def from_arrays(self, arrays: Mapping[str, Array]) -> Elements:
        return Matrices(_matrix_data(arrays, self.size, self.name))

    def neighbour(self, element: Elements, rng: np.random.Generator, scale: float) -> Elements:
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
        return Matrices(np.linalg.solve(eye - half, eye + half) @ element.matrices()[0])


@register_group
class SpecialOrthogonal(Orthogonal):
    symbol = "SO"
    within = "O"
    summary = "rotations (det +1), Haar measure; probes: plane rotations, half-turn"

    def sample(self, rng: np.random.Generator, count: int) -> Elements:
        q = haar_orthogonal_many(rng, count, self.size)
        flip = np.linalg.det(q) < 0
        q[flip, :, 0] = -q[flip, :, 0]  # Haar on O(d) times a fixed reflection class: Haar on SO
        return Matrices(q)

    def sample_one(self, rng: np.random.Generator) -> Elements:
        q = haar_orthogonal(rng, self.size)
        if np.linalg.det(q) < 0:
            q[:, 0] = -q[:, 0]
        return Matrices(q)

    def probes(self, rng: np.random.Generator) -> list[tuple[str, Elements]]:
        n = self.size
        if n < 2:
            return []
        i, j = (int(k) for k in rng.choice(n, size=2, replace=False))
        angle = float(rng.uniform(0.1, np.pi - 0.1))
        return [
            ("plane-rotation", Matrices(plane_rotation(n, i, j, angle))),
            ("half-turn-e1e2", Matrices(plane_rotation(n, 0, 1, np.pi))),
            ("quarter-turn-e1e2", Matrices(plane_rotation(n, 0, 1, np.pi / 2))),
        ]

    def contains(self, elements: Elements, atol: float = 1e-10) -> bool:
        return super().contains(elements, atol) and bool(np.all(elements.determinants() > 0))


def _permutation_data(arrays: Mapping[str, Array], n: int, group: str) -> Array:
    data = np.asarray(arrays["element"])
    if data.ndim == 1:
        data = data[None]
    if data.ndim != 2 or data.shape[1] != n or data.dtype.kind not in "iu":
        raise SpecError(
            f"a {group} element must be {n} integer indices, got shape {tuple(data.shape)} "
            f"of {data.dtype}", argument="element", value=tuple(data.shape),
        )
    return data.astype(np.int64)


@register_group
class Symmetric(Group):
    symbol = "S"
    summary = "all permutations, uniform; probes: transpositions, cyclic shift, reversal"

    def identity(self, count: int = 1) -> Elements:
        return Permutations(np.broadcast_to(np.arange(self.size), (count, self.size)).copy())

    def sample(self, rng: np.random.Generator, count: int) -> Elements:
        rows = np.broadcast_to(np.arange(self.size), (count, self.size))
        return Permutations(rng.permuted(rows, axis=1))

    def sample_one(self, rng: np.random.Generator) -> Elements:
        return Permutations(rng.permutation(self.size))

    def probes(self, rng: np.random.Generator) -> list[tuple[str, Elements]]:
        n = self.size
        if n < 2:
            return []
        first = np.arange(n)
        first[[0, 1]] = [1, 0]
        i, j = (int(k) for k in rng.choice(n, size=2, replace=False))
        rand = np.arange(n)
        rand[[i, j]] = [j, i]
        return [
            ("transposition-01", Permutations(first)),
            ("transposition", Permutations(rand)),
            ("cyclic-shift", Permutations(np.roll(np.arange(n), 1))),
            ("reversal", Permutations(np.arange(n)[::-1].copy())),
        ]

    def contains(self, elements: Elements, atol: float = 1e-10) -> bool:
        if not isinstance(elements, Permutations) or elements.perm.shape[1] != self.size:
            return False
        return bool(np.all(np.sort(elements.perm, axis=1) == np.arange(self.size)))

    def from_arrays(self, arrays: Mapping[str, Array]) -> Elements:
        return Permutations(_permutation_data(arrays, self.size, self.name))

    def neighbour(self, element: Elements, rng: np.random.Generator, scale: float) -> Elements:
        """Compose with one random transposition (more of them for a large ``scale``)."""
        perm = np.arange(self.size)
        if self.size < 2:
            return element
        for _ in range(1 + int(scale)):
            i, j = rng.choice(self.size, size=2, replace=False)
            perm[[i, j]] = perm[[j, i]]
        return Permutations(perm).compose(element)


@register_group
class Cyclic(Symmetric):
    symbol = "C"
    within = "S"
    summary = "cyclic shifts, uniform; probes: shift by +1 and -1"

    def sample(self, rng: np.random.Generator, count: int) -> Elements:
        shifts = rng.integers(self.size, size=count)
        return Permutations((np.arange(self.size)[None, :] - shifts[:, None]) % self.size)

    def sample_one(self, rng: np.random.Generator) -> Elements:
        return Permutations(np.roll(np.arange(self.size), int(rng.integers(self.size))))

    def probes(self, rng: np.random.Generator) -> list[tuple[str, Elements]]:
        n = self.size
        if n < 2:
            return []
        return [
            ("shift+1", Permutations(np.roll(np.arange(n), 1))),
            ("shift-1", Permutations(np.roll(np.arange(n), -1))),
        ]

    def neighbour(self, element: Elements, rng: np.random.Generator, scale: float) -> Elements:
        """Compose with a shift by +1 or -1."""
        shift = np.roll(np.arange(self.size), 1 if rng.random() < 0.5 else -1)
        return Permutations(shift).compose(element)

    def contains(self, elements: Elements, atol: float = 1e-10) -> bool:
        if not super().contains(elements, atol):
            return False
        perm = elements.perm  # type: ignore[attr-defined]
        return self.size < 2 or bool(np.all(np.diff(perm, axis=1) % self.size == 1))


_GROUP_SYNTAX = re.compile(r"^\s*([A-Za-z]+)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$")


def parse_group_name(text: str) -> tuple[str, str]:
    """Split ``"O(d)"`` into ``("O", "d")``; unknown symbols list the registry."""
    match = _GROUP_SYNTAX.match(text) if isinstance(text, str) else None
    if match is None:
        raise SpecError(f"{text!r} is not of the form NAME(label)", argument="groups",
                        value=text, expected="e.g. 'O(d)' or 'S(n)'")
    symbol, label = match.group(1), match.group(2)
    if symbol not in GROUPS:
        known = ", ".join(f"{s}(…)" for s in GROUPS)
        raise SpecError(f"unknown group {symbol!r} in {text!r}", argument="groups", value=text,
                        expected=f"one of {known}")
    return symbol, label


def parse_group(text: str, sizes: Mapping[str, int]) -> Group:
    """Build the group named ``text`` for the size of its label."""
    symbol, label = parse_group_name(text)
    if label not in sizes:
        raise SpecError(f"{text!r} acts on {label!r}, which has no size", argument="groups",
                        value=text)
    return GROUPS[symbol](label, sizes[label])
