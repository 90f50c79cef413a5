"""Group mathematics: membership, determinants, bijections, group laws, Haar statistics."""

from __future__ import annotations

import numpy as np
import pytest

from symcheck.core.errors import SpecError
from symcheck.core.groups import (
    GROUPS,
    Group,
    GroupElement,
    MatrixElement,
    PermutationElement,
    parse_group,
    product_factors,
)

SIZES = {"d": 5, "n": 7}
NAMES = ["O(d)", "SO(d)", "S(n)", "C(n)"]


@pytest.fixture(params=NAMES)
def group(request: pytest.FixtureRequest) -> Group:
    return parse_group(request.param, SIZES)


def elements(group: Group, rng: np.random.Generator, k: int = 6) -> list[GroupElement]:
    return [group.sample(rng) for _ in range(k)] + [e for _, e in group.probes(rng)]


def test_registry_has_the_four_groups() -> None:
    assert {"O", "SO", "S", "C"} <= set(GROUPS)


def test_samples_and_probes_are_members(group: Group) -> None:
    rng = np.random.default_rng(0)
    for e in elements(group, rng):
        assert group.contains(e), (group.name, e.matrix())


def test_matrices_are_orthogonal(group: Group) -> None:
    rng = np.random.default_rng(1)
    for e in elements(group, rng):
        m = e.matrix()
        np.testing.assert_allclose(m @ m.T, np.eye(group.size), atol=1e-12)


def test_group_laws(group: Group) -> None:
    rng = np.random.default_rng(2)
    a, b, c = (group.sample(rng) for _ in range(3))
    ident = group.identity()
    # closure, associativity, identity, inverse — checked on the dense matrices
    assert group.contains(a.compose(b))
    np.testing.assert_allclose(
        a.compose(b).compose(c).matrix(), a.compose(b.compose(c)).matrix(), atol=1e-12
    )
    np.testing.assert_allclose(a.compose(ident).matrix(), a.matrix(), atol=1e-12)
    np.testing.assert_allclose(ident.compose(a).matrix(), a.matrix(), atol=1e-12)
    np.testing.assert_allclose(a.compose(a.inverse()).matrix(), np.eye(group.size), atol=1e-12)


def test_action_matches_matrix_and_is_a_homomorphism(group: Group) -> None:
    """g·x along any axis equals M x along that axis, and (a∘b)·x = a·(b·x)."""
    rng = np.random.default_rng(3)
    a, b = group.sample(rng), group.sample(rng)
    x = rng.standard_normal((3, group.size, group.size))
    for axis in (1, 2):
        expected = np.moveaxis(np.tensordot(a.matrix(), x, axes=([1], [axis])), 0, axis)
        np.testing.assert_allclose(a.act(x, axis), expected, atol=1e-12)
        np.testing.assert_allclose(
            a.compose(b).act(x, axis), a.act(b.act(x, axis), axis), atol=1e-12
        )


def test_determinants_o_versus_so() -> None:
    rng = np.random.default_rng(4)
    o, so = parse_group("O(d)", SIZES), parse_group("SO(d)", SIZES)
    dets_o = np.array([np.linalg.det(o.sample(rng).matrix()) for _ in range(400)])
    dets_so = np.array([np.linalg.det(so.sample(rng).matrix()) for _ in range(100)])
    np.testing.assert_allclose(np.abs(dets_o), 1.0, atol=1e-10)
    np.testing.assert_allclose(dets_so, 1.0, atol=1e-10)
    # Haar on O(d): both components with probability 1/2 (binomial sd = 10 of 400)
    assert 140 < int(np.sum(dets_o < 0)) < 260
    # the structured probes of O(d) include a reflection whatever the seed
    assert any(np.linalg.det(e.matrix()) < 0 for _, e in o.probes(rng))


def test_haar_orthogonal_is_isotropic() -> None:
    """Under Haar measure Q e1 is uniform on the sphere: E[Q] = 0 and E[Q_ij²] = 1/d."""
    rng = np.random.default_rng(5)
    o = parse_group("O(d)", SIZES)
    qs = np.array([o.sample(rng).matrix() for _ in range(4000)])
    d = SIZES["d"]
    assert np.abs(qs.mean(axis=0)).max() < 4 * np.sqrt(1 / d / 4000)
    np.testing.assert_allclose((qs**2).mean(axis=0), 1 / d, atol=4 * np.sqrt(2 / d**2 / 4000))


def test_permutations_are_bijections_and_uniform() -> None:
    rng = np.random.default_rng(6)
    s = parse_group("S(n)", {"n": 3})
    counts: dict[tuple[int, ...], int] = {}
    for _ in range(3000):
        p = s.sample(rng)
        assert isinstance(p, PermutationElement)
        assert sorted(p.perm.tolist()) == [0, 1, 2]
        counts[tuple(p.perm)] = counts.get(tuple(p.perm), 0) + 1
    assert len(counts) == 6
    assert all(abs(c - 500) < 5 * np.sqrt(500) for c in counts.values())


def test_cyclic_shifts_are_shifts() -> None:
    rng = np.random.default_rng(7)
    c = parse_group("C(n)", SIZES)
    x = np.arange(SIZES["n"])
    for e in elements(c, rng):
        y = e.act(x, 0)
        k = int(y[0])
        np.testing.assert_array_equal(y, np.roll(x, -k))
    swap = PermutationElement(np.array([1, 0, 2, 3, 4, 5, 6]))
    assert not c.contains(swap)


def test_so_rejects_reflections() -> None:
    so = parse_group("SO(d)", SIZES)
    flip = np.eye(5)
    flip[0, 0] = -1
    assert not so.contains(MatrixElement(flip))


@pytest.mark.parametrize(
    ("text", "message"),
    [("X(d)", "unknown group 'X'"), ("O", "not of the form"), ("O(d", "not of the form"),
     ("S(q)", "has no size")],
)
def test_bad_group_names(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(")):
        parse_group(text, SIZES)


def test_elements_round_trip_through_arrays(group: Group) -> None:
    e = group.sample(np.random.default_rng(8))
    np.testing.assert_array_equal(group.element(e.to_array()).matrix(), e.matrix())


def test_product_absorbs_subgroups_on_the_same_label() -> None:
    sizes = {"d": 3, "n": 4, "m": 2}

    def names(*texts: str) -> list[str]:
        return [g.name for g in product_factors([parse_group(t, sizes) for t in texts])]

    assert names("SO(d)", "O(d)") == ["O(d)"]
    assert names("O(d)", "S(n)", "C(n)") == ["O(d)", "S(n)"]
    assert names("C(n)", "S(m)") == ["C(n)", "S(m)"]  # different labels: a real product
    assert names("SO(d)", "C(n)") == ["SO(d)", "C(n)"]


def test_batched_draws_are_members_and_act_like_their_items(group: Group) -> None:
    rng = np.random.default_rng(9)
    batch = group.sample_many(rng, 12)
    assert len(batch) == 12
    x = rng.standard_normal((12, 3, group.size, group.size))
    for axis in (2, 3):
        moved = batch.act(x, axis)
        for t in range(12):
            element = batch.item(t)
            assert group.contains(element)
            np.testing.assert_allclose(moved[t], element.act(x[t], axis - 1), atol=1e-12)
    picked = batch.take([3, 0])
    np.testing.assert_array_equal(picked.item(0).matrix(), batch.item(3).matrix())


def test_batched_haar_statistics() -> None:
    rng = np.random.default_rng(10)
    o = parse_group("O(d)", SIZES).sample_many(rng, 4000)
    dets = np.linalg.det(np.stack([o.item(t).matrix() for t in range(4000)]))
    assert 1800 < int(np.sum(dets < 0)) < 2200  # both components, p = 1/2 (sd ≈ 32)
    so = parse_group("SO(d)", SIZES).sample_many(rng, 500)
    np.testing.assert_allclose(
        np.linalg.det(np.stack([so.item(t).matrix() for t in range(500)])), 1.0, atol=1e-10
    )
    s = parse_group("S(n)", {"n": 3}).sample_many(rng, 6000)
    counts: dict[tuple[int, ...], int] = {}
    for t in range(6000):
        key = tuple(s.item(t).to_array().tolist())
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 6 and all(abs(c - 1000) < 5 * np.sqrt(1000) for c in counts.values())
