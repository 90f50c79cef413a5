"""Symmetry groups as a registry of small classes, and batches of their elements.

A :class:`Group` acts on the axes that carry its label (``O(d)`` on each ``d`` axis, ``S(n)``
on each ``n`` axis). It *draws* elements — Haar-random ones, and *structured probes*: specific
elements that catch the bugs random sampling misses or only catches by luck (a reflection for a
model that is SO- but not O-equivariant, a single transposition, a one-step cyclic shift). The
Euclidean groups ``E(d)``, ``SE(d)`` and ``T(d)`` draw pairs ``(Q, t)``: a rotation (or
reflection) and a translation. How an element acts on one axis is the business of a representation
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
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symcheck.core.errors import SpecError, close_match

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

    def linear(self) -> Elements:
        """The linear part of these elements: themselves, except for Euclidean motions, whose
        linear part is the rotation ``Q`` without the translation (what a vector sees)."""
        return self

    def scaled(self, factor: float) -> Elements:
        """These elements conjugated by the dilation ``x ↦ factor·x``: what acts on inputs
        scaled by ``factor`` as these act on the unscaled ones. Linear elements commute with
        dilations (themselves); a translation scales with the data (:class:`Motions`)."""
        return self

    def repeat(self, count: int) -> Elements:
        """This batch of one, repeated for ``count`` cases."""
        return self.take([0] * count)

    def compose(self, other: Elements) -> Elements:
        """``self ∘ other`` case by case (act with ``other`` first)."""
        return Matrices(self.matrices() @ other.matrices())

    def determinants(self) -> Array:
        """``det`` of each defining matrix (±1 for orthogonal elements and permutations)."""
        return np.asarray(np.linalg.det(self.matrices()))


class _Stacked(Elements):
    """Elements held as one array, stacked along its first axis; one element alone (``rank``
    axes) is a batch of one."""

    rank: ClassVar[int]
    dtype: ClassVar[type]

    def __init__(self, values: Array) -> None:
        values = np.asarray(values, dtype=self.dtype)
        self.values = values[None] if values.ndim == self.rank else values

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def take(self, indices: Sequence[int]) -> Elements:
        return type(self)(self.values[list(indices)])


class Matrices(_Stacked):
    """Orthogonal matrices ``q[t]`` (shape ``(T, d, d)``): ``x ↦ x Qᵀ`` on an axis of rows."""

    rank, dtype = 2, np.float64

    @property
    def q(self) -> Array:
        return self.values

    def matrices(self) -> Array:
        return self.q

    def act(self, x: Array, axis: int) -> Array:
        moved = np.moveaxis(x, axis, -1)
        shape = moved.shape
        flat = moved.reshape(shape[0], -1, shape[-1])
        if _repeated_identity(flat):
            # I Qᵀ = Qᵀ: the identity frame through which the weights path turns a layer's
            # weights (repeated for every case) turns without the d³ product, to the bit
            out = np.broadcast_to(self.q.transpose(0, 2, 1), flat.shape).reshape(shape)
        else:
            with np.errstate(over="ignore", invalid="ignore"):  # an overflowing probe: noted
                out = (flat @ self.q.transpose(0, 2, 1)).reshape(shape)  # x Qᵀ, case by case
        return np.moveaxis(out, -1, axis)

    def inverse(self) -> Elements:
        return Matrices(self.q.transpose(0, 2, 1))  # orthogonal: the inverse is the transpose

    def to_arrays(self) -> dict[str, Array]:
        return {"element": self.q}


def _repeated_identity(flat: Array) -> bool:
    """Whether ``flat`` (cases, m, m) is one identity matrix in every case: a single case, or
    a view repeating one matrix (stride 0 along the cases); checked in O(m²)."""
    count, rows, cols = flat.shape
    if not (rows == cols and count and (count == 1 or flat.strides[0] == 0)):
        return False
    first = flat[0]
    return bool(np.count_nonzero(first) == rows and np.all(np.diagonal(first) == 1.0))


class Permutations(_Stacked):
    """Permutations ``perm[t]`` (shape ``(T, n)``): ``(g·x)[t, i] = x[t, perm[t, i]]``."""

    rank, dtype = 1, np.int64

    @property
    def perm(self) -> Array:
        return self.values

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


class Motions(Elements):
    """Euclidean motions ``(q[t], t[t])`` (shapes ``(T, d, d)`` and ``(T, d)``): a point (a row)
    moves as ``x ↦ x Qᵀ + t``; ``Q`` is orthogonal (a reflection too, under ``E(d)``).

    :meth:`act` is the defining action, on points; :meth:`linear` is ``Q`` alone, which is how
    vectors (differences of points) and the other representations see the element.
    """

    def __init__(self, q: Array, t: Array) -> None:
        q = np.asarray(q, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        self.q = q[None] if q.ndim == 2 else q
        self.t = t[None] if t.ndim == 1 else t

    def __len__(self) -> int:
        return int(self.q.shape[0])

    def take(self, indices: Sequence[int]) -> Elements:
        idx = list(indices)
        return Motions(self.q[idx], self.t[idx])

    def matrices(self) -> Array:
        """The rotation parts ``Q`` (the linear part; the translation is :attr:`t`)."""
        return self.q

    def linear(self) -> Elements:
        return Matrices(self.q)

    def scaled(self, factor: float) -> Elements:
        return Motions(self.q, factor * self.t)

    def act(self, x: Array, axis: int) -> Array:
        moved = np.moveaxis(Matrices(self.q).act(x, axis), axis, -1)
        shape = (self.t.shape[0],) + (1,) * (moved.ndim - 2) + (self.t.shape[1],)
        return np.moveaxis(moved + self.t.reshape(shape), -1, axis)  # x Qᵀ + t

    def compose(self, other: Elements) -> Elements:
        if not isinstance(other, Motions):
            return Motions(self.q @ other.matrices(), self.t)  # other fixes the origin
        # (Q₁, t₁)∘(Q₂, t₂): x ↦ (x Q₂ᵀ + t₂) Q₁ᵀ + t₁ = x (Q₁Q₂)ᵀ + (Q₁ t₂ + t₁)
        return Motions(self.q @ other.q, np.einsum("tij,tj->ti", self.q, other.t) + self.t)

    def inverse(self) -> Elements:
        # y = x Qᵀ + t  ⇔  x = (y − t) Q = y Q − Qᵀt
        return Motions(self.q.transpose(0, 2, 1), -np.einsum("tji,tj->ti", self.q, self.t))

    def to_arrays(self) -> dict[str, Array]:
        return {"element": self.q, "translation": self.t}


def concat_elements(batches: Sequence[Elements]) -> Elements:
    """Several batches of one group, one after the other."""
    if all(isinstance(b, Permutations) for b in batches):
        return Permutations(np.concatenate([b.perm for b in batches]))  # type: ignore[attr-defined]
    if all(isinstance(b, Motions) for b in batches):
        return Motions(np.concatenate([b.q for b in batches]),  # type: ignore[attr-defined]
                       np.concatenate([b.t for b in batches]))  # type: ignore[attr-defined]
    return Matrices(np.concatenate([b.matrices() for b in batches]))


class Group(ABC):
    """A group acting on the axes labelled :attr:`label`, of size :attr:`size`."""

    symbol: ClassVar[str]
    #: the symbols of registered groups this one is a subgroup of (SO ⊂ O, C ⊂ S, O ⊂ E):
    #: acting on the same label as one of them, it adds nothing to their product
    within: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str]
    #: its elements act on the label through orthogonal d×d matrices (O, SO and the linear
    #: parts of E, SE, T); representations such as axial vectors or irreps need that
    orthogonal: ClassVar[bool] = False
    #: its elements translate points (E, SE, T): some axis on its label must be a point
    translates: ClassVar[bool] = False
    #: its elements keep or reverse the orientation of a sequence (R, D, C): a complemented
    #: channel axis follows the reversals (:meth:`reverses`)
    oriented: ClassVar[bool] = False

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

    def reverses(self, elements: Elements) -> Array | None:
        """Per element, whether it reverses the orientation of its (sequence) axis, for the
        groups where that means something (``R``, ``D``, ``C``); ``None`` for the others
        (an arbitrary permutation has no orientation). A complemented channel axis
        (:mod:`symcheck.core.reps`) follows it."""
        return None

    def fit(self, points: Array) -> None:  # noqa: B027 (most groups ignore the data)
        """Adapt the draws to the fixed data this group moves: ``points`` holds, one per row,
        the fixed inputs' points on this group's label. Only translations use it (they are
        drawn at the data's scale)."""

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
        if not any(h.label == g.label and h.symbol in g.within for h in groups)
    )


def haar_orthogonal(rng: np.random.Generator, n: int) -> Array:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian, signs fixed by ``diag(R)``).

    Without the sign fix QR is biased; with it the law is exactly Haar (Mezzadri 2007).
    """
    from scipy.linalg import lapack

    # Householder QR straight from LAPACK: the same factorisation as np.linalg.qr at a
    # quarter of its call overhead, which matters when a check draws one at a time.
    qr, tau, _, _ = lapack.dgeqrf(rng.standard_normal((n, n)))
    q, _, _ = lapack.dorgqr(qr, tau)
    return np.asarray(q * np.sign(np.diag(qr)))


def haar_orthogonal_many(rng: np.random.Generator, count: int, n: int) -> Array:
    """``count`` independent Haar matrices at once (stacked QR, the same sign fix)."""
    q, r = np.linalg.qr(rng.standard_normal((count, n, n)))
    return np.asarray(q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :])


def plane_rotation(n: int, i: int, j: int, angle: float) -> Array:
    """Rotation by ``angle`` in the coordinate plane ``(i, j)``."""
    m = np.eye(n)
    c, s = np.cos(angle), np.sin(angle)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def cayley_step(rng: np.random.Generator, n: int, scale: float) -> Array:
    """``cay(scale·A) = (I − scale·A/2)⁻¹(I + scale·A/2)`` for a random skew-symmetric ``A`` of
    unit Frobenius norm: a rotation near the identity, one step in Lie-algebra coordinates.

    The Cayley map agrees with ``exp(scale·A)`` to second order, is exactly orthogonal, and
    costs one linear solve instead of a matrix exponential.
    """
    g = rng.standard_normal((n, n))
    a = g - g.T
    norm = float(np.linalg.norm(a))
    eye = np.eye(n)
    if norm == 0:
        return eye
    half = 0.5 * scale * a / norm
    return np.linalg.solve(eye - half, eye + half)


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
    within: ClassVar[tuple[str, ...]] = ("E",)
    orthogonal = True
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
        """``cay(scale·A)·Q`` for a random skew-symmetric ``A`` of unit Frobenius norm
        (:func:`cayley_step`): a step in Lie-algebra coordinates, which stays in the same
        connected component (det kept)."""
        return Matrices(cayley_step(rng, self.size, scale) @ element.matrices()[0])


@register_group
class SpecialOrthogonal(Orthogonal):
    symbol = "SO"
    within = ("O", "E", "SE")
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


#: the large-translation probe moves by this many times the data's scale (a Gaussian draw
#: moves by about √d): far enough to expose an origin-dependent term that a unit translation
#: shows only weakly, near enough that float32 coordinates out there lose under two of their
#: seven digits (at 100σ an exact point-cloud update checked in float32 erred 1.9e-6, above
#: the 1e-6 floor; at 30σ, 5.6e-7)
LARGE_TRANSLATION = 30.0


def _motion_data(arrays: Mapping[str, Array], n: int, group: str) -> tuple[Array, Array]:
    q = _matrix_data(arrays, n, group)
    if "translation" not in arrays:
        raise SpecError(f"a {group} element needs a translation besides its matrix",
                        argument="element", value=sorted(arrays))
    t = np.asarray(arrays["translation"], dtype=np.float64)
    if t.ndim == 1:
        t = t[None]
    if t.shape != (q.shape[0], n):
        raise SpecError(
            f"a {group} translation must be {n} numbers per element, got shape "
            f"{tuple(t.shape)}", argument="element", value=tuple(t.shape),
        )
    return q, t


@register_group
class Euclidean(Group):
    """``E(d)`` = ``O(d) ⋉ T(d)``: ``x ↦ Qx + t`` on points, ``x ↦ Qx`` on vectors.

    Draws: ``Q`` Haar on ``O(d)`` and ``t`` Gaussian with standard deviation
    :attr:`translation_scale` per coordinate — 1, the scale of the standard-normal inputs the
    check draws, or the spread of fixed point inputs (:meth:`fit`). The search moves in both
    coordinates: a Cayley step of ``Q``, a Gaussian step of ``t``, or both.
    """

    symbol = "E"
    orthogonal = True
    translates = True
    summary = ("rigid motions and reflections x ↦ Qx + t (Haar Q, Gaussian t at the data's "
               "scale); probes: reflections, rotations, a large and an axis translation")
    #: the group of the linear parts (``None``: the identity only, as for ``T(d)``)
    linear_group: ClassVar[type[Group] | None] = Orthogonal

    def __init__(self, label: str, size: int) -> None:
        super().__init__(label, size)
        self.translation_scale = 1.0
        self._linear = None if self.linear_group is None else self.linear_group(label, size)

    def fit(self, points: Array) -> None:
        """Draw translations at the spread of the fixed points (their RMS distance from their
        centroid, per coordinate); unchanged when there is no spread to measure."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, self.size)
        if points.shape[0] < 2 or not np.all(np.isfinite(points)):
            return
        spread = float(np.sqrt(np.mean((points - points.mean(axis=0)) ** 2)))
        if spread > 0:
            self.translation_scale = spread

    def _rotations(self, rng: np.random.Generator, count: int) -> Array:
        if self._linear is None:
            return np.broadcast_to(np.eye(self.size), (count, self.size, self.size)).copy()
        return self._linear.sample(rng, count).matrices()

    def identity(self, count: int = 1) -> Elements:
        return Motions(np.broadcast_to(np.eye(self.size), (count, self.size, self.size)).copy(),
                       np.zeros((count, self.size)))

    def sample(self, rng: np.random.Generator, count: int) -> Elements:
        q = self._rotations(rng, count)
        return Motions(q, self.translation_scale * rng.standard_normal((count, self.size)))

    def sample_one(self, rng: np.random.Generator) -> Elements:
        linear = self._linear
        q = np.eye(self.size) if linear is None else linear.sample_one(rng).matrices()[0]
        return Motions(q, self.translation_scale * rng.standard_normal(self.size))

    def probes(self, rng: np.random.Generator) -> list[tuple[str, Elements]]:
        """The linear group's probes (reflections for E, rotations for E and SE) at the
        origin, then a large translation in a random direction and one along the first axis."""
        n, zero = self.size, np.zeros(self.size)
        out: list[tuple[str, Elements]] = []
        if self._linear is not None:
            out = [(name, Motions(e.matrices()[0], zero)) for name, e in self._linear.probes(rng)]
        direction = rng.standard_normal(n)
        direction /= np.linalg.norm(direction)
        eye = np.eye(n)
        out.append(("translation-large",
                    Motions(eye, LARGE_TRANSLATION * self.translation_scale * direction)))
        out.append(("translation-e1", Motions(eye, 2.0 * self.translation_scale * eye[0])))
        return out

    def contains(self, elements: Elements, atol: float = 1e-10) -> bool:
        if not isinstance(elements, Motions) or elements.t.shape[1:] != (self.size,):
            return False
        if not np.all(np.isfinite(elements.t)) or not _orthogonal(elements.q, self.size, atol):
            return False
        if self._linear is None:
            return bool(np.allclose(elements.q, np.eye(self.size), atol=atol))
        return self._linear.contains(Matrices(elements.q), atol)

    def from_arrays(self, arrays: Mapping[str, Array]) -> Elements:
        return Motions(*_motion_data(arrays, self.size, self.name))

    def neighbour(self, element: Elements, rng: np.random.Generator, scale: float) -> Elements:
        """Move the rotation (a Cayley step, det kept), the translation (a Gaussian step of
        ``scale`` times the data's scale), or both, each with probability 1/3 (the translation
        alone when there is no rotation to move)."""
        assert isinstance(element, Motions)  # drawn by this group
        q, t = element.q[0], element.t[0]
        move = 1 if self._linear is None else int(rng.integers(3))  # 0: Q, 1: t, 2: both
        if move in (0, 2):
            q = cayley_step(rng, self.size, scale) @ q
        if move in (1, 2):
            step = rng.standard_normal(self.size)
            t = t + scale * self.translation_scale * step / max(float(np.linalg.norm(step)), 1e-300)
        return Motions(q, t)


@register_group
class SpecialEuclidean(Euclidean):
    symbol = "SE"
    within = ("E",)
    summary = ("rigid motions x ↦ Qx + t, det Q = +1 (Haar Q, Gaussian t at the data's "
               "scale); probes: rotations, a large and an axis translation")
    linear_group = SpecialOrthogonal


@register_group
class Translations(Euclidean):
    symbol = "T"
    within = ("E", "SE")
    summary = ("translations x ↦ x + t (Gaussian t at the data's scale); probes: a large "
               "and an axis translation")
    linear_group = None


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
    oriented = True
    within = ("S", "D")
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

    def reverses(self, elements: Elements) -> Array | None:
        return np.zeros(len(elements), dtype=bool)  # shifts keep the orientation


def _reversed(perm: Array) -> Array:
    """Per case, whether a permutation of a cycle reverses its orientation (``i ↦ s − i``);
    on two points the swap counts as the reversal (it is one)."""
    n = perm.shape[1]
    if n < 2:
        return np.zeros(perm.shape[0], dtype=bool)
    if n == 2:
        return np.asarray(perm[:, 0] == 1)
    return np.asarray((perm[:, 1] - perm[:, 0]) % n == n - 1)


@register_group
class Reversal(Symmetric):
    """``R(n)``: the identity and the reversal of the axis, ``x[i] ↦ x[n − 1 − i]``."""

    symbol = "R"
    oriented = True
    within = ("S", "D")
    summary = "the reversal of the axis and the identity, uniform; probe: the reversal"

    def _reversal(self) -> Array:
        return np.arange(self.size)[::-1].copy()

    def sample(self, rng: np.random.Generator, count: int) -> Elements:
        flip = rng.random(count) < 0.5
        return Permutations(np.where(flip[:, None], self._reversal(), np.arange(self.size)))

    def sample_one(self, rng: np.random.Generator) -> Elements:
        return self.sample(rng, 1)

    def probes(self, rng: np.random.Generator) -> list[tuple[str, Elements]]:
        return [] if self.size < 2 else [("reversal", Permutations(self._reversal()))]

    def neighbour(self, element: Elements, rng: np.random.Generator, scale: float) -> Elements:
        """The other element (the group has two)."""
        return Permutations(self._reversal()).compose(element)

    def contains(self, elements: Elements, atol: float = 1e-10) -> bool:
        if not isinstance(elements, Permutations) or elements.perm.shape[1] != self.size:
            return False
        return bool(np.all((elements.perm == np.arange(self.size))
                           | (elements.perm == self._reversal())))

    def reverses(self, elements: Elements) -> Array | None:
        return _reversed(elements.perm)  # type: ignore[attr-defined]


@register_group
class Dihedral(Symmetric):
    """``D(n)``: the symmetries of a regular n-gon on a cyclic axis, ``i ↦ s ± i (mod n)``:
    ``n`` rotations and ``n`` reflections."""

    symbol = "D"
    oriented = True
    within = ("S",)
    summary = ("rotations and reflections of a cyclic axis (i ↦ s ± i mod n), uniform; "
               "probes: shift by +1, the reversal, the reflection fixing position 0")

    def _elements(self, shifts: Array, flips: Array) -> Elements:
        i = np.arange(self.size)[None, :]
        sign = np.where(flips, -1, 1)[:, None]
        return Permutations((shifts[:, None] + sign * i) % self.size)

    def sample(self, rng: np.random.Generator, count: int) -> Elements:
        return self._elements(rng.integers(self.size, size=count), rng.random(count) < 0.5)

    def sample_one(self, rng: np.random.Generator) -> Elements:
        return self.sample(rng, 1)

    def probes(self, rng: np.random.Generator) -> list[tuple[str, Elements]]:
        n = self.size
        if n < 2:
            return []
        return [
            ("shift+1", Permutations(np.roll(np.arange(n), 1))),
            ("reversal", Permutations(np.arange(n)[::-1].copy())),
            ("reflection-0", Permutations(-np.arange(n) % n)),
        ]

    def neighbour(self, element: Elements, rng: np.random.Generator, scale: float) -> Elements:
        """Compose with a shift by ±1, or with the reversal."""
        move = int(rng.integers(3))
        step = np.arange(self.size)[::-1].copy() if move == 2 else \
            np.roll(np.arange(self.size), 1 if move == 0 else -1)
        return Permutations(step).compose(element)

    def contains(self, elements: Elements, atol: float = 1e-10) -> bool:
        if not super().contains(elements, atol):
            return False
        perm = elements.perm  # type: ignore[attr-defined]
        if self.size < 3:
            return True
        step = np.diff(perm, axis=1) % self.size
        return bool(np.all((step == 1).all(axis=1) | (step == self.size - 1).all(axis=1)))

    def reverses(self, elements: Elements) -> Array | None:
        return _reversed(elements.perm)  # type: ignore[attr-defined]


_GROUP_SYNTAX = re.compile(r"^\s*([A-Za-z]+)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$")


@dataclass(frozen=True)
class GroupName:
    """A group as a spec names it, before it has a size: ``O(d)`` is the symbol ``O`` acting on
    the label ``d``. Parsed once where the name enters (:meth:`parse`); :meth:`build` makes the
    group for the label's size. ``str()`` gives the name back (for display and JSON).

    >>> name = GroupName.parse("O(d)")
    >>> name.symbol, name.label, str(name)
    ('O', 'd', 'O(d)')
    >>> name.build({"d": 3}).size
    3
    """

    symbol: str
    label: str

    @classmethod
    def parse(cls, text: str) -> GroupName:
        """Read ``"O(d)"``; a malformed name or an unknown symbol (the error lists the
        registry) is a :class:`SpecError` naming ``groups``."""
        match = _GROUP_SYNTAX.match(text) if isinstance(text, str) else None
        if match is None:
            raise SpecError(f"{text!r} is not of the form NAME(label)", argument="groups",
                            value=text, expected="e.g. 'O(d)' or 'S(n)'")
        symbol, label = match.group(1), match.group(2)
        if symbol not in GROUPS:
            known = ", ".join(f"{s}(…)" for s in GROUPS)
            near = close_match(symbol, GROUPS)
            raise SpecError(f"unknown group {text!r}", argument="groups", value=text,
                            expected=f"one of {known}",
                            hint=None if near is None else f"did you mean '{near}({label})'?")
        return cls(symbol, label)

    @property
    def kind(self) -> type[Group]:
        """The registered group class the symbol names."""
        return GROUPS[self.symbol]

    def build(self, sizes: Mapping[str, int]) -> Group:
        """The group for the size of its label."""
        if self.label not in sizes:
            raise SpecError(f"{str(self)!r} acts on {self.label!r}, which has no size",
                            argument="groups", value=str(self))
        return self.kind(self.label, sizes[self.label])

    def __str__(self) -> str:
        return f"{self.symbol}({self.label})"


def parse_group(text: str, sizes: Mapping[str, int]) -> Group:
    """Build the group named ``text`` for the size of its label (parse, then build)."""
    return GroupName.parse(text).build(sizes)
