"""The Euclidean groups E(d), SE(d), T(d) and the representations axial, point and vector:
group laws, what translations do to points and to vectors, the axial sign, draws at the data's
scale, search moves, and negative controls through the checker."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from symcheck.api import check_equivariance
from symcheck.core.errors import SpecError
from symcheck.core.groups import (
    GROUPS,
    LARGE_TRANSLATION,
    Elements,
    Euclidean,
    Matrices,
    Motions,
    concat_elements,
    parse_group,
    product_factors,
)
from symcheck.core.reps import REPRESENTATIONS, representation
from symcheck.core.signature import Signature
from symcheck.engine.problem import resolve
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
SIZES = {"c": 3, "d": 4, "n": 5}
NAMES = ["E(c)", "SE(c)", "T(c)", "E(d)", "SE(d)"]
SEEDS = range(4)


@pytest.fixture(params=NAMES)
def group(request: pytest.FixtureRequest) -> Euclidean:
    g = parse_group(request.param, SIZES)
    assert isinstance(g, Euclidean)
    return g


def singles(group: Euclidean, rng: np.random.Generator, k: int = 5) -> list[Elements]:
    batch = group.sample(rng, k)
    return ([group.sample_one(rng) for _ in range(k)] + [batch.item(t) for t in range(k)]
            + [e for _, e in group.probes(rng)])


def test_registries_have_the_euclidean_groups_and_the_representations() -> None:
    assert {"E", "SE", "T"} <= set(GROUPS)
    assert {"vector", "axial", "point", "irreps"} <= set(REPRESENTATIONS)


def test_draws_and_probes_are_members(group: Euclidean) -> None:
    rng = np.random.default_rng(0)
    for e in singles(group, rng):
        assert isinstance(e, Motions) and len(e) == 1
        assert group.contains(e), (group.name, e.to_arrays())
    dets = group.sample(rng, 400).determinants()
    if group.symbol == "E":
        assert 140 < int(np.sum(dets < 0)) < 260  # Haar on O(d): both components
    else:
        np.testing.assert_allclose(dets, 1.0, atol=1e-10)
    if group.symbol == "T":
        np.testing.assert_allclose(group.sample(rng, 10).matrices(),
                                   np.broadcast_to(np.eye(group.size), (10, group.size,
                                                                        group.size)))


def test_probes_reflect_only_under_e_and_always_translate(group: Euclidean) -> None:
    probes = dict(group.probes(np.random.default_rng(1)))
    assert {"translation-large", "translation-e1"} <= set(probes)
    reflects = any(e.determinants()[0] < 0 for e in probes.values())
    assert reflects == (group.symbol == "E")
    large = probes["translation-large"].to_arrays()["translation"][0]
    assert np.linalg.norm(large) == pytest.approx(LARGE_TRANSLATION)
    axis = probes["translation-e1"].to_arrays()["translation"][0]
    assert axis[0] > 0 and np.all(axis[1:] == 0)


def test_group_laws_on_points(group: Euclidean) -> None:
    """Closure, associativity, identity and inverse, case by case, both as (Q, t) pairs and as
    actions on points: (a∘b)·x = a·(b·x)."""
    rng = np.random.default_rng(2)
    a, b, c = (group.sample(rng, 4) for _ in range(3))
    point = representation("point")
    x = rng.standard_normal((4, 6, group.size))
    assert group.contains(a.compose(b))
    left, right = a.compose(b).compose(c), a.compose(b.compose(c))
    for key in ("element", "translation"):
        np.testing.assert_allclose(left.to_arrays()[key], right.to_arrays()[key], atol=1e-12)
    np.testing.assert_allclose(point.act(a.compose(b), x, 2),
                               point.act(a, point.act(b, x, 2), 2), atol=1e-12)
    identity = group.identity(4)
    np.testing.assert_allclose(point.act(a.compose(identity), x, 2), point.act(a, x, 2),
                               atol=1e-12)
    np.testing.assert_allclose(point.act(a.compose(a.inverse()), x, 2), x, atol=1e-12)
    np.testing.assert_allclose(point.act(a.inverse().compose(a), x, 2), x, atol=1e-12)


def test_points_translate_and_vectors_do_not(group: Euclidean) -> None:
    rng = np.random.default_rng(3)
    e = group.sample(rng, 3)
    q, t = e.to_arrays()["element"], e.to_arrays()["translation"]
    x = rng.standard_normal((3, 5, group.size))
    moved = representation("point").act(e, x, 2)
    turned = representation("vector").act(e, x, 2)
    np.testing.assert_allclose(moved, x @ q.transpose(0, 2, 1) + t[:, None, :], atol=1e-12)
    np.testing.assert_allclose(turned, x @ q.transpose(0, 2, 1), atol=1e-12)
    # a difference of points is a vector; an axial vector ignores t as well
    np.testing.assert_allclose(moved[:, 1:] - moved[:, :1], turned[:, 1:] - turned[:, :1],
                               atol=1e-12)
    np.testing.assert_allclose(representation("axial").act(e, x, 2),
                               e.determinants()[:, None, None] * turned, atol=1e-12)
    # along an axis other than the last one too
    y = np.moveaxis(x, 2, 1)
    np.testing.assert_allclose(representation("point").act(e, y, 1), np.moveaxis(moved, 2, 1),
                               atol=1e-12)


def test_axial_sign_under_reflections_and_rotations() -> None:
    rng = np.random.default_rng(4)
    o = parse_group("O(c)", SIZES)
    axial, vector = representation("axial"), representation("vector")
    x = rng.standard_normal((1, 4, 3))
    for name, e in [*o.probes(rng), ("haar", o.sample_one(rng))]:
        sign = -1.0 if e.determinants()[0] < 0 else 1.0
        np.testing.assert_allclose(axial.act(e, x, 2), sign * vector.act(e, x, 2), atol=1e-12,
                                   err_msg=name)
    flip = np.diag([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(axial.act(Matrices(flip), x, 2), -(x @ flip), atol=0)
    # the cross product is exactly an axial vector: (Qa) × (Qb) = det(Q) Q (a × b)
    q = o.sample(rng, 50)
    a, b = rng.standard_normal((2, 50, 1, 3))
    np.testing.assert_allclose(np.cross(vector.act(q, a, 2), vector.act(q, b, 2)),
                               axial.act(q, np.cross(a, b), 2), atol=1e-12)


def test_elements_round_trip_through_arrays(group: Euclidean) -> None:
    e = group.sample(np.random.default_rng(5), 3)
    back = group.from_arrays(e.to_arrays())
    for key in ("element", "translation"):
        np.testing.assert_array_equal(back.to_arrays()[key], e.to_arrays()[key])
    one = {k: v[1] for k, v in e.to_arrays().items()}
    assert group.contains(group.from_arrays(one))
    with pytest.raises(SpecError, match="needs a translation"):
        group.from_arrays({"element": e.to_arrays()["element"]})
    with pytest.raises(SpecError, match="translation must be"):
        group.from_arrays({"element": e.to_arrays()["element"], "translation": np.zeros((3, 2))})
    joined = concat_elements([e.item(2), e.item(0)])
    np.testing.assert_array_equal(joined.to_arrays()["translation"],
                                  e.take([2, 0]).to_arrays()["translation"])


def test_membership_refuses_tampered_elements() -> None:
    e, se, t = (parse_group(f"{s}(c)", SIZES) for s in ("E", "SE", "T"))
    flip = np.diag([-1.0, 1.0, 1.0])
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    zero = np.zeros(3)
    assert e.contains(Motions(flip, zero)) and not se.contains(Motions(flip, zero))
    assert se.contains(Motions(turn, zero)) and not t.contains(Motions(turn, zero))
    assert not e.contains(Motions(2 * np.eye(3), zero))  # not orthogonal
    assert not e.contains(Motions(np.eye(3), np.array([0.0, np.nan, 0.0])))
    assert not e.contains(Matrices(np.eye(3)))  # a matrix is no motion
    assert not parse_group("O(c)", SIZES).contains(Motions(np.eye(3), zero))


def test_neighbours_stay_in_the_group_and_move_both_coordinates(group: Euclidean) -> None:
    rng = np.random.default_rng(6)
    start = group.sample_one(rng)
    q0, t0 = start.to_arrays()["element"][0], start.to_arrays()["translation"][0]
    moved_q = moved_t = False
    for _ in range(30):
        step = group.neighbour(start, rng, 0.3)
        assert group.contains(step)
        np.testing.assert_allclose(step.determinants(), start.determinants(), atol=1e-10)
        moved_q |= not np.allclose(step.to_arrays()["element"][0], q0)
        moved_t |= not np.allclose(step.to_arrays()["translation"][0], t0)
    assert moved_t
    assert moved_q == (group.symbol != "T")


def test_translations_are_drawn_at_the_data_scale() -> None:
    rng = np.random.default_rng(7)
    random = resolve(lambda p: p, Signature.parse(("n c:point",), ("n c:point",), ("E(c)",),
                                            {"n": 50, "c": 3}))
    (g,) = random.groups
    t = g.sample(rng, 4000).to_arrays()["translation"]
    assert abs(float(t.std()) - 1.0) < 0.03  # standard-normal inputs: unit scale
    cloud = 1000.0 + 40.0 * rng.standard_normal((50, 3))  # far from the origin, spread 40
    fixed = resolve(lambda p: p, Signature.parse(("n c:point",), ("n c:point",), ("E(c)",), {}),
                    data=[cloud])
    (g,) = fixed.groups
    assert 36 < g.translation_scale < 44
    t = g.sample(rng, 4000).to_arrays()["translation"]
    assert abs(float(t.std()) / g.translation_scale - 1.0) < 0.03
    large = dict(g.probes(rng))["translation-large"].to_arrays()["translation"][0]
    assert np.linalg.norm(large) == pytest.approx(LARGE_TRANSLATION * g.translation_scale)


def test_products_absorb_subgroups_on_the_same_label() -> None:
    def names(*texts: str) -> list[str]:
        return [g.name for g in product_factors([parse_group(t, SIZES) for t in texts])]

    assert names("E(c)", "O(c)", "SO(c)") == ["E(c)"]
    assert names("SE(c)", "T(c)") == ["SE(c)"]
    assert names("T(c)", "SE(c)", "E(c)") == ["E(c)"]
    assert names("E(c)", "S(n)") == ["E(c)", "S(n)"]
    assert names("T(c)", "O(c)") == ["T(c)", "O(c)"]  # neither contains the other


# --- representations the acting group cannot give meaning to -----------------------------


@pytest.mark.parametrize(
    ("inputs", "outputs", "groups", "argument", "message"),
    [
        (("n:point c",), ("n c",), ("S(n)",), "inputs", "'point' is a point"),
        (("n c",), ("n:axial c",), ("S(n)",), "outputs", "S(n) cannot act on"),
        (("n c",), ("n c",), ("E(c)",), "groups", "no axis labelled 'c' is a point"),
        (("n c:axial",), ("n c",), ("T(c)",), "groups", "translates points"),
        (("n c:vector(3)",), ("n c",), ("O(c)",), "inputs", "takes no argument"),
        (("n c:irreps",), ("n c",), ("O(c)",), "inputs", "needs an argument"),
        (("n c:irreps(1x1q)",), ("n c",), ("O(c)",), "inputs", "is not an irrep"),
        (("n c:irreps(0x1o)",), ("n c",), ("O(c)",), "inputs", "dimension 0"),
        (("n d:irreps(1x1o)",), ("n d",), ("O(d)",), "inputs", "3-D rotations"),
        (("n c:irreps(1x1o)",), ("n c",), ("S(n)", "S(c)"), "inputs", "S(c) cannot act on"),
    ],
)
def test_meaningless_tags_are_spec_errors(inputs: tuple[str, ...], outputs: tuple[str, ...],
                                          groups: tuple[str, ...], argument: str,
                                          message: str) -> None:
    used = {tok.partition(":")[0] for text in inputs + outputs for tok in text.split()}
    sizes = {k: v for k, v in SIZES.items() if k in used}
    with pytest.raises(SpecError, match=re.escape(message)) as info:
        resolve(lambda x: x, Signature.parse(inputs, outputs, groups, sizes))
    assert info.value.argument == argument


@pytest.mark.parametrize(
    ("args", "flag", "text"),
    [
        (["--in", "n:point c", "--out", "n c", "--group", "S(n)"], "--in", "cannot act on"),
        (["--in", "n c", "--out", "n c", "--group", "E(c)"], "--group", "is a point"),
        (["--in", "n c:spinor", "--out", "n c", "--group", "O(c)"], "--in",
         "unknown representation 'spinor'"),
        (["--in", "n c", "--out", "n c:irreps(1x1o", "--group", "O(c)"], "--out", ""),
    ],
)
def test_cli_refuses_meaningless_tags_with_one_line(cli: Cli, tmp_path: Path, args: list[str],
                                                    flag: str, text: str) -> None:
    model = tmp_path / "m.py"
    model.write_text("def f(x):\n    return x\n")
    r = cli("equivariance", f"{model}:f", *args, "--size", "n=4,c=3")
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"symcheck: error: {flag}: "), r.stderr
    assert text in lines[0] and "Traceback" not in r.output


# --- the checker: negative controls on several seeds ---------------------------------------


def update(p: np.ndarray) -> np.ndarray:
    centred = p - p.mean(axis=0, keepdims=True)
    return p + 0.1 * centred * (centred**2).sum(axis=1, keepdims=True)


def origin_pull(p: np.ndarray) -> np.ndarray:
    """Rotation-equivariant about the origin, not translation-equivariant."""
    return p + 0.1 * p * (p**2).sum(axis=1, keepdims=True)


def verdicts(fn: Callable[..., np.ndarray], inputs: list[str], output: str, groups: list[str],
             seed: int, sizes: dict[str, int] | None = None,
             probes: bool = True) -> dict[str, str]:
    r = check_equivariance(fn, inputs, output, groups, sizes or {"n": 5, "c": 3}, seed=seed,
                           trials=8, probes=probes)
    return {g.measurement.name: g.verdict for g in r.groups}


@pytest.mark.parametrize("seed", SEEDS)
def test_point_update_passes_e_and_s(seed: int) -> None:
    assert set(verdicts(update, ["n c:point"], "n c:point", ["E(c)", "S(n)"], seed).values()) \
        == {"pass"}
    assert verdicts(update, ["n c:point"], "n c:point", ["SE(c)", "T(c)"], seed) == {
        "SE(c)": "pass", "T(c)": "pass"}


@pytest.mark.parametrize("seed", SEEDS)
def test_rotation_but_not_translation_equivariant_maps_fail_e_and_pass_o(seed: int) -> None:
    for fn in (origin_pull, lambda p: 1.1 * p):
        assert verdicts(fn, ["n c:point"], "n c:point", ["E(c)"], seed) == {"E(c)": "fail"}
        assert verdicts(fn, ["n c:point"], "n c:point", ["SE(c)"], seed) == {"SE(c)": "fail"}
        assert verdicts(fn, ["n c:point"], "n c:point", ["T(c)"], seed) == {"T(c)": "fail"}
        assert verdicts(fn, ["n c:point"], "n c:point", ["O(c)"], seed) == {"O(c)": "pass"}


@pytest.mark.parametrize("seed", SEEDS)
def test_displacements_of_points_are_vectors(seed: int) -> None:
    def displacement(p: np.ndarray) -> np.ndarray:
        return p - p.mean(axis=0, keepdims=True)

    assert verdicts(displacement, ["n c:point"], "n c", ["E(c)"], seed) == {"E(c)": "pass"}
    # declared a point it is wrong: it does not move with the translation
    assert verdicts(displacement, ["n c:point"], "n c:point", ["E(c)"], seed) == {
        "E(c)": "fail"}
    assert verdicts(displacement, ["n c:point"], "n c:point", ["T(c)"], seed) == {
        "T(c)": "fail"}


@pytest.mark.parametrize("seed", SEEDS)
def test_cross_product_is_axial(seed: int) -> None:
    def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.cross(a, b)

    inputs = ["n c", "n c"]
    assert verdicts(cross, inputs, "n c:axial", ["O(c)"], seed) == {"O(c)": "pass"}
    assert verdicts(cross, inputs, "n c", ["O(c)"], seed) == {"O(c)": "fail"}
    assert verdicts(cross, inputs, "n c", ["SO(c)"], seed) == {"SO(c)": "pass"}
    assert verdicts(cross, inputs, "n c:axial", ["SO(c)"], seed) == {"SO(c)": "pass"}
    # of two points: translations change the cross product, of their differences they do not
    assert verdicts(cross, ["n c:point", "n c:point"], "n c:axial", ["E(c)"], seed) == {
        "E(c)": "fail"}

    def relative(p: np.ndarray) -> np.ndarray:
        centred = p - p.mean(axis=0, keepdims=True)
        return np.cross(centred, np.roll(centred, 1, axis=0))

    # (without input probes: on the rank-one probe the points are collinear and every
    # pseudovector of them vanishes, see test_vanishing_pseudovectors_on_rank_one_inputs)
    assert verdicts(relative, ["n c:point"], "n c:axial", ["E(c)"], seed, probes=False) == {
        "E(c)": "pass"}
    assert verdicts(relative, ["n c:point"], "n c", ["E(c)"], seed, probes=False) == {
        "E(c)": "fail"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vanishing_pseudovectors_on_rank_one_inputs(seed: int) -> None:
    """``x × mean(x)`` is an exact pseudovector; on a rank-one input (all tokens parallel) it
    is zero up to round-off, where a relative error would compare round-off with round-off:
    such a probe is a note, not a failure. Declared as a vector, the reflections still fail."""
    def angular(x: np.ndarray) -> np.ndarray:
        return np.cross(x, x.mean(axis=0, keepdims=True))

    assert verdicts(angular, ["n c"], "n c:axial", ["O(c)"], seed) == {"O(c)": "pass"}
    assert verdicts(angular, ["n c"], "n c", ["SO(c)"], seed) == {"SO(c)": "pass"}
    assert verdicts(angular, ["n c"], "n c", ["O(c)"], seed) == {"O(c)": "fail"}


def test_a_reflection_probe_catches_a_pseudovector_declared_as_vector_with_one_trial() -> None:
    def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.cross(a, b)

    for seed in range(6):
        r = check_equivariance(cross, ["n c", "n c"], "n c", ["O(c)"], {"n": 5, "c": 3},
                               seed=seed, trials=1)
        assert not r.passed
    for seed in range(6):  # a translation probe catches a map that is not translated
        r = check_equivariance(origin_pull, ["n c:point"], "n c:point", ["E(c)"],
                               {"n": 5, "c": 3}, seed=seed, trials=1)
        probes = {c.case: c.error for c in r.groups[0].measurement.cases}
        assert probes["probe:translation-large"] > 1.0 and not r.passed


def test_search_moves_translations_towards_a_violation() -> None:
    """A violation that grows only with the translation along one direction: the search,
    moving translations, finds a larger error than every random case."""
    u = np.array([0.6, 0.0, 0.8])

    def leaky(p: np.ndarray) -> np.ndarray:
        return p + 1e-12 * np.exp(2.0 * float(p.mean(axis=0) @ u)) * u

    r = check_equivariance(leaky, ["n c:point"], "n c:point", ["T(c)"], {"n": 4, "c": 3},
                           seed=0, trials=5, search=60, probes=False)
    cases = {c.case: c.error for c in r.groups[0].measurement.cases}
    assert cases["search"] > 10 * max(e for k, e in cases.items() if k != "search")


def test_counterexample_of_a_motion_replays(cli: Cli, tmp_path: Path) -> None:
    model = tmp_path / "m.py"
    model.write_text("def f(p):\n    return 1.1 * p\n")
    saved = tmp_path / "case.npz"
    r = cli("equivariance", f"{model}:f", "--in", "n c:point", "--out", "n c:point",
            "--group", "E(c)", "--size", "n=4,c=3", "--save-counterexample", saved)
    assert r.exit_code == 1, r.output
    with np.load(saved) as stored:
        assert {"element_0", "translation_0"} <= set(stored.files)
    r = cli("replay", saved, f"{model}:f")
    assert r.exit_code == 1, r.output
    model.write_text("def f(p):\n    return p\n")
    assert cli("replay", saved, f"{model}:f").exit_code == 0


def test_scaled_elements_conjugate_by_the_dilation() -> None:
    """``g.scaled(s)`` acts on ``s·x`` as ``g`` acts on ``x``: translations scale, rotations and
    permutations do not."""
    rng = np.random.default_rng(11)
    for name in ("E(c)", "T(c)", "O(c)", "S(n)"):
        g = parse_group(name, SIZES)
        e = g.sample(rng, 3)
        rep = representation("point" if g.orthogonal else "vector")
        x = rng.standard_normal((3, 5, 3)) if g.orthogonal else rng.standard_normal((3, 5, 2))
        axis = 2 if g.orthogonal else 1
        for s in (1e-6, 1e6):
            np.testing.assert_allclose(rep.act(e.scaled(s), s * x, axis), s * rep.act(e, x, axis),
                                       rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", range(2))
def test_float32_point_clouds_pass_every_input_probe(seed: int) -> None:
    """The tiny (×1e-6) and huge (×1e6) input probes move their translations with the scale:
    a unit translation of a 1e-6 cloud is below float32's resolution there, a false FAIL."""
    r = check_equivariance(update, ["n c:point"], "n c:point", ["E(c)"], {"n": 5, "c": 3},
                           seed=seed, trials=4, dtype="float32")
    assert r.passed, [(c.case, c.error) for c in r.groups[0].measurement.cases]
    cases = {c.case for c in r.groups[0].measurement.cases}
    assert {"input:tiny:0", "input:huge:0"} <= cases
    r = check_equivariance(origin_pull, ["n c:point"], "n c:point", ["E(c)"], {"n": 5, "c": 3},
                           seed=seed, trials=4, dtype="float32")
    assert not r.passed
