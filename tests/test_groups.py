"""Group mathematics: membership, determinants, bijections, group laws, Haar statistics, and
the separation of groups (which draw elements) from representations (how they act)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from symcheck.core.errors import SpecError
from symcheck.core.groups import (
    GROUPS,
    Elements,
    Group,
    Matrices,
    Permutations,
    concat_elements,
    parse_group,
    product_factors,
)
from symcheck.core.reps import REPRESENTATIONS, representation
from symcheck.core.specs import AxisSpec

SIZES = {"d": 5, "n": 7}
NAMES = ["O(d)", "SO(d)", "S(n)", "C(n)", "R(n)", "D(n)"]


@pytest.fixture(params=NAMES)
def group(request: pytest.FixtureRequest) -> Group:
    return parse_group(request.param, SIZES)


def elements(group: Group, rng: np.random.Generator, k: int = 6) -> list[Elements]:
    """Single elements (batches of one): independent draws, batched draws, probes."""
    batch = group.sample(rng, k)
    return ([group.sample_one(rng) for _ in range(k)] + [batch.item(t) for t in range(k)]
            + [e for _, e in group.probes(rng)])


def test_registry_has_the_four_groups() -> None:
    assert {"O", "SO", "S", "C"} <= set(GROUPS)
    assert "vector" in REPRESENTATIONS


def test_samples_and_probes_are_members_and_single_elements(group: Group) -> None:
    rng = np.random.default_rng(0)
    for e in elements(group, rng):
        assert len(e) == 1
        assert group.contains(e), (group.name, e.matrices())


def test_matrices_are_orthogonal(group: Group) -> None:
    rng = np.random.default_rng(1)
    for e in elements(group, rng):
        m = e.matrices()[0]
        np.testing.assert_allclose(m @ m.T, np.eye(group.size), atol=1e-12)


def test_group_laws(group: Group) -> None:
    """Closure, associativity, identity, inverse — case by case on a batch of 4."""
    rng = np.random.default_rng(2)
    a, b, c = (group.sample(rng, 4) for _ in range(3))
    ident = group.identity(4)
    assert group.contains(a.compose(b))
    np.testing.assert_allclose(
        a.compose(b).compose(c).matrices(), a.compose(b.compose(c)).matrices(), atol=1e-12
    )
    np.testing.assert_allclose(a.compose(ident).matrices(), a.matrices(), atol=1e-12)
    np.testing.assert_allclose(ident.compose(a).matrices(), a.matrices(), atol=1e-12)
    inverse = a.inverse()
    np.testing.assert_allclose(a.compose(inverse).matrices(),
                               np.broadcast_to(np.eye(group.size), (4, group.size, group.size)),
                               atol=1e-12)


def test_action_matches_matrix_and_is_a_homomorphism(group: Group) -> None:
    """g·x along any axis equals M x along that axis, and (a∘b)·x = a·(b·x), per case."""
    rng = np.random.default_rng(3)
    a, b = group.sample(rng, 3), group.sample(rng, 3)
    x = rng.standard_normal((3, 2, group.size, group.size))
    vector = representation("vector")
    for axis in (2, 3):
        for t in range(3):
            expected = np.moveaxis(np.tensordot(a.matrices()[t], x[t], axes=([1], [axis - 1])),
                                   0, axis - 1)
            np.testing.assert_allclose(vector.act(a, x, axis)[t], expected, atol=1e-12)
        np.testing.assert_allclose(
            vector.act(a.compose(b), x, axis), vector.act(a, vector.act(b, x, axis), axis),
            atol=1e-12,
        )


def test_determinants_o_versus_so() -> None:
    rng = np.random.default_rng(4)
    o, so = parse_group("O(d)", SIZES), parse_group("SO(d)", SIZES)
    dets_o = np.array([o.sample_one(rng).determinants()[0] for _ in range(400)])
    dets_so = so.sample(rng, 100).determinants()
    np.testing.assert_allclose(np.abs(dets_o), 1.0, atol=1e-10)
    np.testing.assert_allclose(dets_so, 1.0, atol=1e-10)
    # Haar on O(d): both components with probability 1/2 (binomial sd = 10 of 400)
    assert 140 < int(np.sum(dets_o < 0)) < 260
    # the structured probes of O(d) include a reflection whatever the seed
    assert any(e.determinants()[0] < 0 for _, e in o.probes(rng))


def test_haar_orthogonal_is_isotropic() -> None:
    """Under Haar measure Q e1 is uniform on the sphere: E[Q] = 0 and E[Q_ij²] = 1/d."""
    rng = np.random.default_rng(5)
    o = parse_group("O(d)", SIZES)
    d = SIZES["d"]
    for qs in (np.concatenate([o.sample_one(rng).matrices() for _ in range(4000)]),
               o.sample(rng, 4000).matrices()):
        assert np.abs(qs.mean(axis=0)).max() < 4 * np.sqrt(1 / d / 4000)
        np.testing.assert_allclose((qs**2).mean(axis=0), 1 / d,
                                   atol=4 * np.sqrt(2 / d**2 / 4000))


def test_permutations_are_bijections_and_uniform() -> None:
    rng = np.random.default_rng(6)
    s = parse_group("S(n)", {"n": 3})
    for perms in (np.concatenate([s.sample_one(rng).to_arrays()["element"]
                                  for _ in range(3000)]),
                  s.sample(rng, 3000).to_arrays()["element"]):
        counts: dict[tuple[int, ...], int] = {}
        for p in perms:
            assert sorted(p.tolist()) == [0, 1, 2]
            counts[tuple(p)] = counts.get(tuple(p), 0) + 1
        assert len(counts) == 6
        assert all(abs(c - 500) < 5 * np.sqrt(500) for c in counts.values())


def test_cyclic_shifts_are_shifts() -> None:
    rng = np.random.default_rng(7)
    c = parse_group("C(n)", SIZES)
    x = np.arange(SIZES["n"])[None]
    for e in elements(c, rng):
        y = e.act(x, 1)[0]
        k = int(y[0])
        np.testing.assert_array_equal(y, np.roll(x[0], -k))
    assert not c.contains(Permutations(np.array([1, 0, 2, 3, 4, 5, 6])))


def test_membership_refuses_what_is_not_in_the_group() -> None:
    so, o = parse_group("SO(d)", SIZES), parse_group("O(d)", SIZES)
    flip = np.eye(5)
    flip[0, 0] = -1
    assert not so.contains(Matrices(flip)) and o.contains(Matrices(flip))
    assert not o.contains(Matrices(np.zeros((5, 5))))  # a tampered "orthogonal" matrix
    assert not o.contains(Matrices(np.full((5, 5), np.nan)))
    s = parse_group("S(n)", SIZES)
    assert not s.contains(Permutations(np.array([0, 0, 2, 3, 4, 5, 6])))
    assert not s.contains(Permutations(np.arange(6)))


@pytest.mark.parametrize(
    ("text", "message"),
    [("X(d)", "unknown group 'X(d)'"), ("O", "not of the form"), ("O(d", "not of the form"),
     ("S(q)", "has no size")],
)
def test_bad_group_names(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)) as info:
        parse_group(text, SIZES)
    assert info.value.argument == "groups" and str(info.value).startswith("groups: ")


def test_elements_round_trip_through_arrays(group: Group) -> None:
    e = group.sample(np.random.default_rng(8), 3)
    back = group.from_arrays(e.to_arrays())
    np.testing.assert_array_equal(back.matrices(), e.matrices())
    single = group.from_arrays({"element": e.to_arrays()["element"][1]})
    np.testing.assert_array_equal(single.matrices(), e.item(1).matrices())


def test_product_absorbs_subgroups_on_the_same_label() -> None:
    sizes = {"d": 3, "n": 4, "m": 2}

    def names(*texts: str) -> list[str]:
        return [g.name for g in product_factors([parse_group(t, sizes) for t in texts])]

    assert names("SO(d)", "O(d)") == ["O(d)"]
    assert names("O(d)", "S(n)", "C(n)") == ["O(d)", "S(n)"]
    assert names("C(n)", "S(m)") == ["C(n)", "S(m)"]  # different labels: a real product
    assert names("SO(d)", "C(n)") == ["SO(d)", "C(n)"]


def test_batches_take_concat_and_items_agree(group: Group) -> None:
    rng = np.random.default_rng(9)
    batch = group.sample(rng, 12)
    assert len(batch) == 12
    x = rng.standard_normal((12, 3, group.size, group.size))
    for axis in (2, 3):
        moved = batch.act(x, axis)
        for t in range(12):
            np.testing.assert_allclose(moved[t], batch.item(t).act(x[t][None], axis)[0],
                                       atol=1e-12)
    picked = batch.take([3, 0])
    np.testing.assert_array_equal(picked.item(0).matrices(), batch.item(3).matrices())
    joined = concat_elements([batch.item(5), batch.item(2)])
    np.testing.assert_array_equal(joined.matrices(), batch.take([5, 2]).matrices())


def test_a_repeated_identity_turns_into_the_elements_themselves() -> None:
    """I Qᵀ = Qᵀ: the identity repeated for every case (the weights path's frame) turns without
    the product, to the bit; the same matrix copied per case, or not the identity, multiplies."""
    rng = np.random.default_rng(11)
    q = parse_group("O(d)", {"d": 5}).sample(rng, 4)
    frame = np.broadcast_to(np.eye(5), (4, 1, 5, 5))
    product = Matrices(q.matrices()).act(np.ascontiguousarray(frame), 3)  # copies: multiplied
    np.testing.assert_array_equal(q.act(frame, 3), product)
    np.testing.assert_array_equal(q.act(frame, 3)[:, 0], q.matrices().transpose(0, 2, 1))
    np.testing.assert_array_equal(q.act(frame, 2), product.transpose(0, 1, 3, 2))
    almost = np.eye(5)
    almost[0, 1] = 1e-3
    tilted = np.broadcast_to(almost, (4, 5, 5))
    np.testing.assert_allclose(q.act(tilted, 2),
                               np.einsum("tij,kj->tki", q.matrices(), almost), atol=1e-15)


def test_batched_haar_statistics() -> None:
    rng = np.random.default_rng(10)
    dets = parse_group("O(d)", SIZES).sample(rng, 4000).determinants()
    assert 1800 < int(np.sum(dets < 0)) < 2200  # both components, p = 1/2 (sd ≈ 32)
    so = parse_group("SO(d)", SIZES).sample(rng, 500)
    np.testing.assert_allclose(so.determinants(), 1.0, atol=1e-10)


def test_axis_tokens_name_a_representation() -> None:
    spec = AxisSpec.parse("n d:vector")
    assert spec.labels == ("n", "d") and spec.rep(1) == "vector" and str(spec) == "n d"
    with pytest.raises(SpecError, match="unknown representation 'spinor'") as info:
        AxisSpec.parse("n d:spinor", "outputs")
    assert info.value.argument == "outputs"


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_reversal_and_dihedral_are_the_whole_group(n: int) -> None:
    """R(n) draws the identity and the reversal; D(n) draws all 2n symmetries of an n-gon
    (i ↦ s ± i mod n; fewer distinct permutations for n ≤ 2), and nothing else."""
    rng = np.random.default_rng(10)
    r, d = parse_group("R(n)", {"n": n}), parse_group("D(n)", {"n": n})
    seen_r = {tuple(p) for p in r.sample(rng, 400).perm}  # type: ignore[attr-defined]
    seen_d = {tuple(p) for p in d.sample(rng, 4000).perm}  # type: ignore[attr-defined]
    i = np.arange(n)
    assert seen_r == {tuple(i), tuple(i[::-1])}
    assert seen_d == {tuple((s + sign * i) % n) for s in range(n) for sign in (1, -1)}
    assert len(seen_d) == (2 * n if n >= 3 else n)


def test_reversals_are_told_from_rotations() -> None:
    """``reverses``: what a complemented channel follows. R and D say which elements reverse
    the sequence, C that none do, S (no orientation) nothing."""
    n = 6
    i = np.arange(n)
    perms = Permutations(np.stack([i, i[::-1], np.roll(i, 2), (3 - i) % n]))
    assert parse_group("D(n)", {"n": n}).reverses(perms).tolist() == [False, True, False, True]
    assert parse_group("R(n)", {"n": n}).reverses(perms.take([0, 1])).tolist() == [False, True]
    assert not parse_group("C(n)", {"n": n}).reverses(perms).any()
    assert parse_group("S(n)", {"n": n}).reverses(perms) is None


def test_reversal_and_dihedral_refuse_other_permutations() -> None:
    n = 7
    i = np.arange(n)
    r, d = parse_group("R(n)", {"n": n}), parse_group("D(n)", {"n": n})
    assert not r.contains(Permutations(np.roll(i, 1)))  # a rotation is no reversal
    assert d.contains(Permutations(np.roll(i, 3))) and d.contains(Permutations((2 - i) % n))
    swap = i.copy()
    swap[[0, 1]] = [1, 0]
    assert not d.contains(Permutations(swap))  # a transposition is not a symmetry of a 7-gon
    assert not r.contains(Permutations(swap))


def test_product_absorbs_reversal_and_rotations_into_dihedral() -> None:
    sizes = {"n": 5}

    def names(*texts: str) -> list[str]:
        return [g.name for g in product_factors([parse_group(t, sizes) for t in texts])]

    assert names("R(n)", "D(n)") == ["D(n)"]
    assert names("C(n)", "D(n)") == ["D(n)"]
    assert names("D(n)", "S(n)") == ["S(n)"]
    assert names("R(n)", "C(n)") == ["R(n)", "C(n)"]  # together they make D(n), not one of them
