"""The cases of a check: seeded draws of inputs and group elements, and the structured probes.

Each kind of case (Haar draws, probes, identity, search) draws from its own generator seeded by
``(seed, group set, kind)``, so any case replays exactly from the seed and the number of trials.

**Probes**: the inputs Gaussian draws never reach. A Gaussian draw never has an axis-aligned
token, two equal tokens, a zero token, a rank-one sequence, or a scale far from 1, and a check
never varies the declared sizes — so a model that branches on any of these passes every random
case. The probes put the check there:

- **input probes** turn a Gaussian draw into one of those inputs (:data:`INPUT_PROBES`); each
  is its own case kind (``input:one-hot:0``) that replays as its ``case``. They change only the
  inputs the check draws (and data the user supplied), never fixed weights.
- **near-duplicate probes** put pairs of tokens at a small relative distance, on a ladder from
  1e-1 down to the check's dtype resolution (:func:`near_duplicate_distances`): exact copies
  (``repeated-token``) do not trigger a model that merges tokens closer than a threshold, and
  its error grows with the distance, so the ladder has a rung within two decades below any
  threshold the dtype can resolve (``input:near-duplicate-1e-7:0``).
- **size probes** re-run the check with ``n = 1``, ``n = 2`` and one ``n ≥ 4n + 1`` for every
  label a permutation group acts on, unless fixed data pins that size (:func:`size_probes`).

A probe counts toward the verdict only where both sides are finite; one outside the model's
domain (it raises, or both sides are non-finite) is a note, never a failure.

>>> import numpy as np
>>> from symcheck.core.signature import Signature
>>> from symcheck.engine.problem import resolve
>>> p = resolve(np.tanh, Signature.parse(("n d",), ("n d",), ("S(n)",), {"n": 4, "d": 2}))
>>> batch = case_batches(p, p.groups, seed=0, trials=5)
>>> [str(c) for c in batch.labels[:2]], len(batch.labels)
(['haar:0', 'haar:1'], 12)
>>> x = np.random.default_rng(0).standard_normal((1, 4, 3))
>>> y = INPUT_PROBES["repeated-token"].apply(x)
>>> bool(np.array_equal(y[0, 0], y[0, 1]))
True
>>> size_probes_for(6)
(1, 2, 25)
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from symcheck.core.caseid import CaseId, GroupSet
from symcheck.core.errors import SpecError
from symcheck.core.groups import Cyclic, Elements, Group, Symmetric, concat_elements
from symcheck.core.specs import AxisSpec
from symcheck.engine.problem import Problem

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
    #: a near-duplicate probe's distance between the tokens of a pair, relative to their norm
    distance: float | None = None

    def apply(self, x: Array) -> Array:
        if x.ndim < 2:  # a scalar input per case: nothing to shape, only scales apply
            return x if self.structural else self.transform(x)
        return self.transform(np.array(x, dtype=np.float64))

    def keep(self, original: Array, moved: Array) -> Array:
        """``moved`` (``original`` perturbed, both stacked) with the probed structure of
        ``original`` kept, for the round-off test: a structural probe is applied again; a
        near-duplicate pair keeps its offset exactly (re-applied, a perturbation larger than
        the pair's distance would turn the offset's direction at random and with it a
        structured residual, which would then pass as round-off)."""
        if self.distance is not None and moved.ndim >= 2:
            out = np.array(moved, dtype=np.float64)
            t, o = tokens(out), tokens(np.asarray(original, dtype=np.float64))
            for i, j in _pairs(t.shape[1]):
                t[:, j] = t[:, i] + (o[:, j] - o[:, i])
            return out
        return self.apply(moved) if self.structural else moved


def keep_close_pairs(original: Array, moved: Array, within: float) -> Array:
    """``moved`` (one case of ``original`` perturbed) with every token that lay within
    ``within`` (relative) of an earlier token put back at its offset from it: a perturbation
    larger than a pair's distance would re-draw the pair and, with it, a structured residual
    (a merge of near-equal tokens found by the search), which would then pass as round-off.

    >>> o = np.array([[1.0, 0.0], [1.0, 1e-9], [0.0, 1.0]])
    >>> m = keep_close_pairs(o, o + 1e-5, 1e-3)
    >>> bool(np.allclose(m[1] - m[0], o[1] - o[0], rtol=0, atol=1e-15))
    True
    """
    if original.ndim < 2:
        return moved
    out = np.array(moved, dtype=np.float64)
    o = tokens(np.asarray(original, dtype=np.float64)[None])[0]
    t = tokens(out[None])[0]
    for j in range(1, len(o)):
        gaps = np.linalg.norm(o[:j] - o[j], axis=-1)
        i = int(np.argmin(gaps))
        if gaps[i] <= within * max(float(np.linalg.norm(o[i])), 1e-300):
            t[j] = t[i] + (o[j] - o[i])
    return out


def has_close_pair(a: Array, within: float) -> bool:
    """Whether two tokens of ``a`` (one case) lie within ``within`` of each other, relative to
    the larger norm."""
    if a.ndim < 2:
        return False
    t = tokens(np.asarray(a, dtype=np.float64)[None])[0]
    if len(t) < 2:
        return False
    gaps = np.linalg.norm(t[:, None] - t[None], axis=-1) + np.diag(np.full(len(t), np.inf))
    norms = np.linalg.norm(t, axis=-1)
    return bool(np.any(gaps <= within * np.maximum(norms[:, None], norms[None])))


def tokens(x: Array) -> Array:
    """``x`` as (cases, tokens, features): every axis between the first and the last indexes a
    token (a view, so writes go through)."""
    return x.reshape(x.shape[0], -1, x.shape[-1])


def _one_hot(x: Array) -> Array:
    t = tokens(x)
    scale = np.sqrt(t.shape[-1])  # a Gaussian token's typical norm
    t[:, 0, :] = 0.0
    t[:, 0, 0] = scale
    if t.shape[1] > 2:  # a second, on another axis, away from the first
        last = t.shape[1] - 1
        t[:, last, :] = 0.0
        t[:, last, t.shape[-1] - 1] = -scale
    return x


def _repeated(x: Array) -> Array:
    t = tokens(x)
    if t.shape[1] >= 2:
        t[:, 1, :] = t[:, 0, :]
    if t.shape[1] >= 4:
        t[:, -1, :] = t[:, 0, :]
    return x


def _zero(x: Array) -> Array:
    t = tokens(x)
    t[:, 0, :] = 0.0
    return x


def _rank_one(x: Array) -> Array:
    t = tokens(x)
    a = t[:, :, :1]  # one coefficient per token (the first feature of the draw)
    v = t[:, :1, :]  # one direction per case (the first token of the draw)
    t[:, :, :] = a * v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-300) \
        * np.sqrt(t.shape[-1])
    return x


#: the most pairs a near-duplicate probe makes (tokens 0-1, 2-3, 4-5): a model that keeps the
#: first of two near-equal tokens breaks S(n) only where the permutation swaps their order,
#: which one pair escapes half the time and three pairs an eighth of it
NEAR_PAIRS = 3


def _pairs(count: int) -> list[tuple[int, int]]:
    return [(2 * k, 2 * k + 1) for k in range(min(NEAR_PAIRS, count // 2))]


def _near(distance: float) -> Callable[[Array], Array]:
    """Tokens ``2k + 1`` moved to ``distance · ‖token 2k‖`` from token ``2k``, along their
    difference in the draw: a projection (applied twice it changes nothing)."""

    def transform(x: Array) -> Array:
        t = tokens(x)
        for i, j in _pairs(t.shape[1]):
            offset = t[:, j] - t[:, i]
            norm = np.linalg.norm(offset, axis=-1, keepdims=True)
            length = distance * np.linalg.norm(t[:, i], axis=-1, keepdims=True)
            t[:, j] = t[:, i] + offset * (length / np.maximum(norm, 1e-300))
        return x

    return transform


#: the near-duplicate ladder: one rung every two decades from 1e-1, then the dtype's floor
NEAR_EXPONENTS = (1, 3, 5, 7, 9, 11, 13)
#: the closest pair: the smallest power of ten at least this many units of the resolution (a
#: pair closer than a few units would round to a repeated token)
NEAR_FLOOR_UNITS = 4.0


def near_floor(dtype: str) -> int:
    """The exponent of the closest pair in ``dtype``: 15 in float64, 6 in float32."""
    from symcheck.core.tolerances import RESOLUTION

    return int(np.floor(-np.log10(NEAR_FLOOR_UNITS * RESOLUTION[dtype])))


def near_duplicate_distances(dtype: str) -> tuple[float, ...]:
    """The distances of the near-duplicate probes of a check in ``dtype``.

    >>> near_duplicate_distances("float32"), near_duplicate_distances("bfloat16")
    ((0.1, 0.001, 1e-05, 1e-06), (0.1,))
    >>> len(near_duplicate_distances("float64"))
    8
    """
    floor = near_floor(dtype)
    exponents = [k for k in NEAR_EXPONENTS if k < floor] + [max(floor, 1)]
    return tuple(10.0 ** -k for k in dict.fromkeys(exponents))


def _near_probe(exponent: int) -> InputProbe:
    distance = 10.0 ** -exponent
    return InputProbe(f"near-duplicate-1e-{exponent}",
                      f"pairs of tokens {distance:.0e} apart, relative to their norm",
                      _near(distance), distance=distance)


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
    # appended, so the probes above keep their generators (a seed replays the same cases);
    # every rung of every dtype's ladder, each check running its own (:func:`input_probes`)
    *(_near_probe(k) for k in sorted({*NEAR_EXPONENTS, *(near_floor(dt) for dt in (
        "float64", "float32", "float16", "bfloat16"))})),
)}


def input_probes(dtype: str) -> list[tuple[int, InputProbe]]:
    """The input probes of a check in ``dtype``, each with its index in :data:`INPUT_PROBES`
    (what seeds its cases): every probe, but only the near-duplicate rungs of its ladder."""
    rungs = near_duplicate_distances(dtype)
    return [(k, p) for k, p in enumerate(INPUT_PROBES.values())
            if p.distance is None or any(np.isclose(p.distance, r) for r in rungs)]


def probe_input(spec: AxisSpec, x: Array, probe: InputProbe) -> Array:
    """``probe`` applied to the stacked draw ``x`` of an input with ``spec``."""
    return probe.apply(x) if spec.rank else (x if probe.structural else probe.transform(x))


def size_probes_for(size: int) -> tuple[int, ...]:
    """``1, 2`` and one size at least ``4·size + 1`` (the declared size is checked already)."""
    return tuple(s for s in (1, 2, 4 * size + 1) if s != size)


def permuted_labels(groups: tuple[Group, ...]) -> list[str]:
    """The labels a permutation group acts on (size probes vary these)."""
    return list(dict.fromkeys(g.label for g in groups if isinstance(g, Symmetric | Cyclic)))


NOISE_REPEATS = 3


_KIND_CODE = {"haar": 0, "probe": 1, "identity": 2, "search": 3, "input": 4, "size": 5,
              "roundoff": 6, "calibrate": 7}


def case_rng(seed: int, groups: GroupSet | str, kind: str, index: int) -> np.random.Generator:
    """The generator of one case: independent of every other case and of the case order.
    Keyed by the group set's display name (``O(d) × S(n)``), so that seeds replay the same
    cases as they always have."""
    key = (zlib.crc32(str(groups).encode()), _KIND_CODE[kind], index)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def draw_inputs(problem: Problem, rng: np.random.Generator) -> list[Array]:
    """Standard-normal inputs of the declared shapes, except those fixed by ``problem.data``."""
    return [a[0] for a in draw_inputs_many(problem, rng, 1)]


def draw_inputs_many(problem: Problem, rng: np.random.Generator, count: int) -> list[Array]:
    """``count`` cases of inputs, stacked on a leading axis (fixed inputs are repeated)."""
    fixed = problem.data or (None,) * len(problem.inputs)
    out = []
    for spec, given in zip(problem.inputs, fixed, strict=True):
        if given is None:
            out.append(rng.standard_normal((count, *spec.shape(problem.sizes))))
        else:
            out.append(np.broadcast_to(given, (count, *given.shape)))
    return out


#: the elements of a group set: one batch per group factor (a single case is a batch of one)
Factors = list[tuple[Group, Elements]]
#: the inputs and elements of one case
Draw = tuple[list[Array], Factors]


@dataclass
class CaseBatch:
    """Several cases of one group set: who they are, stacked inputs and one element each."""

    labels: list[CaseId]
    x: list[Array]  # each input with a leading case axis
    elements: Factors

    def take(self, indices: Sequence[int]) -> CaseBatch:
        idx = list(indices)
        return CaseBatch([self.labels[i] for i in idx], [a[idx] for a in self.x],
                         [(g, b.take(idx)) for g, b in self.elements])

    @classmethod
    def concat(cls, parts: Sequence[CaseBatch]) -> CaseBatch:
        return cls(
            [lab for p in parts for lab in p.labels],
            [np.concatenate(arrays) for arrays in zip(*(p.x for p in parts), strict=True)],
            [(parts[0].elements[i][0], concat_elements([p.elements[i][1] for p in parts]))
             for i in range(len(parts[0].elements))],
        )

    @classmethod
    def of(cls, labels: Sequence[CaseId], draws: Sequence[Draw]) -> CaseBatch:
        """Single cases (inputs and elements) stacked into a batch."""
        x = [np.stack(arrays) for arrays in zip(*(d[0] for d in draws), strict=True)]
        groups = [g for g, _ in draws[0][1]]
        elements = [(g, concat_elements([d[1][i][1] for d in draws]))
                    for i, g in enumerate(groups)]
        return cls(list(labels), x, elements)


@dataclass
class Drawn:
    """One batch of cases a check measured, kept so that another function can be measured on
    the same cases (:func:`~symcheck.engine.equivariance.check_problem` with ``given``): the
    same group elements, and inputs the caller chooses (the same draws, or what the first
    function made of them), without drawing, probing or searching anew.

    ``inputs`` holds the inputs the check drew or may change (:func:`varied_inputs`), each with
    a leading case axis; a fixed input it never changes (weights) is the measured problem's own
    (:meth:`batch`).

    >>> import numpy as np
    >>> from symcheck.core.signature import Signature
    >>> from symcheck.engine.problem import resolve
    >>> p = resolve(np.tanh, Signature.parse(("n d",), ("n d",), ("S(n)",), {"n": 4, "d": 2}))
    >>> drawn = Drawn.of(p, case_batches(p, p.groups, seed=0, trials=2), "main")
    >>> drawn.batch(p).labels == drawn.labels, len(drawn.inputs)
    (True, 1)
    """

    #: "main" (Haar draws, group probes, identity), "input" (input probes), "size n = 25",
    #: "search"
    kind: str
    labels: list[CaseId]
    inputs: list[Array]
    elements: Factors
    #: a size probe's (label, size): the cases run on the problem resized to it
    resized: tuple[str, int] | None = None
    #: whether the inputs are what the input probe named in a label made of a draw (the
    #: round-off test keeps that structure when it perturbs them); False for other inputs
    probed: bool = True

    @classmethod
    def of(cls, problem: Problem, cases: CaseBatch, kind: str,
           resized: tuple[str, int] | None = None) -> Drawn:
        """The cases of ``problem`` as measured, without the fixed inputs it never changes."""
        return cls(kind, list(cases.labels),
                   [a for a, v in zip(cases.x, varied_inputs(problem), strict=True) if v],
                   list(cases.elements), resized)

    def problem(self, problem: Problem) -> Problem:
        """``problem`` at the sizes these cases ran at (a size probe's)."""
        return problem if self.resized is None else problem.resized(*self.resized)

    def batch(self, problem: Problem) -> CaseBatch:
        """The cases as inputs of ``problem``: the given inputs in the order of the inputs it
        varies, its other fixed inputs repeated per case (as :func:`draw_inputs_many` does)."""
        count = len(self.labels)
        fixed = problem.data or (None,) * len(problem.inputs)
        varied = varied_inputs(problem)
        if sum(varied) != len(self.inputs):
            shown = [repr(str(s)) for s, v in zip(problem.inputs, varied, strict=True) if v]
            raise SpecError(f"{len(self.inputs)} inputs given for the {sum(varied)} it varies "
                            f"({', '.join(shown) or 'none'})", argument="given",
                            value=len(self.inputs))
        given = iter(self.inputs)
        x = [next(given) if v or a is None else np.broadcast_to(a, (count, *a.shape))
             for a, v in zip(fixed, varied, strict=True)]
        return CaseBatch(list(self.labels), x, list(self.elements))


def varied_inputs(problem: Problem) -> list[bool]:
    """Per input, whether the check draws or changes it: a drawn input, or data the user
    supplied (``problem.probe_data``: probed and searched like a draw); fixed weights, and
    token ids and masks, never change."""
    fixed = problem.data or (None,) * len(problem.inputs)
    return [given is None or (problem.probe_data and given.dtype.kind == "f")
            for given in fixed]


def _probe_case(groups: GroupSet, group: Group, name: str) -> CaseId:
    return CaseId(groups, "probe", probe=name, factor=group.name)


def search_case(elements: Factors) -> CaseId:
    """The case the worst-case search found, in the group set of ``elements``."""
    return CaseId(GroupSet.of([g for g, _ in elements]), "search")


def case_batches(problem: Problem, groups: tuple[Group, ...], seed: int, trials: int
                 ) -> CaseBatch:
    """Every case of one group set: the Haar draws, the probes and the identity cases.

    Each kind draws from its own generator seeded by ``(seed, set, kind)``: the Haar cases'
    inputs for all trials, then their elements, each in one vectorised call. A case replays
    exactly from the seed and the number of trials.
    """
    group_set = GroupSet.of(groups)
    rng = case_rng(seed, group_set, "haar", 0)
    haar = CaseBatch(
        [CaseId(group_set, "haar", t) for t in range(trials)],
        draw_inputs_many(problem, rng, trials), [(g, g.sample(rng, trials)) for g in groups],
    )
    parts = [haar]
    rng = case_rng(seed, group_set, "probe", 0)
    probes = [(i, _probe_case(group_set, g, name), element)
              for i, g in enumerate(groups) for name, element in g.probes(rng)]
    if probes:
        k = len(probes)
        x = draw_inputs_many(problem, rng, k)
        elements = []
        for i, g in enumerate(groups):
            random = g.sample(rng, k)
            elements.append((g, concat_elements([
                element if j == i else random.item(t)
                for t, (j, _, element) in enumerate(probes)
            ])))
        parts.append(CaseBatch([name for _, name, _ in probes], x, elements))
    rng = case_rng(seed, group_set, "identity", 0)
    parts.append(CaseBatch(
        [CaseId(group_set, "identity", t) for t in range(NOISE_REPEATS)],
        draw_inputs_many(problem, rng, NOISE_REPEATS),
        [(g, g.identity(NOISE_REPEATS)) for g in groups],
    ))
    return CaseBatch.concat(parts)


def input_probe_batch(problem: Problem, groups: tuple[Group, ...], seed: int) -> CaseBatch | None:
    """The input-probe cases of one group set: each probe of :data:`INPUT_PROBES` on
    :data:`CASES_PER_INPUT_PROBE` fresh draws, each with its own Haar element. Only inputs the
    check draws (and data the user supplied, ``problem.probe_data``) are probed, never weights;
    None when no input can be probed."""
    probed = varied_inputs(problem)
    if not any(probed):
        return None
    group_set = GroupSet.of(groups)
    parts = []
    for k, probe in input_probes(problem.dtype):
        rng = case_rng(seed, group_set, "input", k)
        x = draw_inputs_many(problem, rng, CASES_PER_INPUT_PROBE)
        x = [probe_input(spec, a, probe) if use else a
             for spec, a, use in zip(problem.inputs, x, probed, strict=True)]
        parts.append(CaseBatch(
            [CaseId(group_set, "input", t, probe.name)
             for t in range(CASES_PER_INPUT_PROBE)], x,
            [(g, g.sample(rng, CASES_PER_INPUT_PROBE).scaled(probe.scale)) for g in groups],
        ))
    return CaseBatch.concat(parts)


def size_probe_batch(problem: Problem, groups: tuple[Group, ...], seed: int, label: str,
                     size: int) -> CaseBatch:
    """The cases of one size probe (``problem`` and ``groups`` already resized): two Haar draws
    and the first structured probe of each group, on fresh inputs."""
    group_set = GroupSet.of(groups)
    rng = case_rng(seed, group_set, "size", size)
    haar = CaseBatch(
        [CaseId(group_set, "haar", t, size=(label, size)) for t in range(2)],
        draw_inputs_many(problem, rng, 2), [(g, g.sample(rng, 2)) for g in groups],
    )
    probes = [(i, _probe_case(group_set, g, n).resized(label, size), e)
              for i, g in enumerate(groups) for n, e in g.probes(rng)[:1]]
    if not probes:
        return haar
    k = len(probes)
    x = draw_inputs_many(problem, rng, k)
    elements = []
    for i, g in enumerate(groups):
        random = g.sample(rng, k)
        elements.append((g, concat_elements([e if j == i else random.item(t)
                                             for t, (j, _, e) in enumerate(probes)])))
    return CaseBatch.concat([haar, CaseBatch([n for _, n, _ in probes], x, elements)])
