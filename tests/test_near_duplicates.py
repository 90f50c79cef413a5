"""Near-duplicate probes, the search's pull, and the round-off of near-equal tokens.

A model that merges tokens closer than a threshold passes on Gaussian draws (never close) and
on exact copies (merged alike on both sides); the near-duplicate probes put pairs on a ladder
of distances scaled to the dtype, each its own case kind, and the search pulls two tokens
together. Near-equal tokens also make a difference that is mostly round-off: an equivariant
model using it must not fail.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from symcheck.engine.cases import (
    INPUT_PROBES,
    has_close_pair,
    input_probes,
    keep_close_pairs,
    near_duplicate_distances,
)
from symcheck.engine.search import pull_together
from tests.conftest import CliResult

MODELS = Path(__file__).resolve().parent / "models" / "verdicts"
Cli = Callable[..., CliResult]


@pytest.mark.parametrize(("dtype", "closest", "rungs"), [
    ("float64", 1e-15, 8), ("float32", 1e-6, 4), ("float16", 1e-2, 2), ("bfloat16", 1e-1, 1),
])
def test_the_ladder_runs_from_1e_1_to_a_few_units_of_the_dtypes_resolution(
        dtype: str, closest: float, rungs: int) -> None:
    from symcheck.core.tolerances import RESOLUTION

    distances = near_duplicate_distances(dtype)
    assert len(distances) == rungs and distances[0] == pytest.approx(0.1)
    assert distances[-1] == pytest.approx(closest)
    assert distances[-1] >= 4 * RESOLUTION[dtype]  # a pair that does not round to a copy
    assert all(b < a for a, b in pairwise(distances))
    names = [p.name for _, p in input_probes(dtype) if p.distance is not None]
    assert len(names) == rungs and all(n in INPUT_PROBES for n in names)


def test_existing_probes_keep_their_generators() -> None:
    """The near-duplicate probes are appended: the probes before them keep their index (the
    key of their cases' generator), so a seed replays the cases it always did."""
    assert [p.name for _, p in input_probes("float64")][:6] == [
        "one-hot", "repeated-token", "zero-token", "rank-one", "tiny", "huge"]
    assert [k for k, _ in input_probes("float64")][:6] == list(range(6))


@pytest.mark.parametrize("name", ["near-duplicate-1e-1", "near-duplicate-1e-7",
                                  "near-duplicate-1e-15"])
def test_a_probe_puts_pairs_at_its_distance_and_is_a_projection(name: str) -> None:
    probe = INPUT_PROBES[name]
    assert probe.distance is not None
    x = np.random.default_rng(0).standard_normal((2, 6, 8))
    y = probe.apply(x)
    for i, j in ((0, 1), (2, 3), (4, 5)):
        gap = np.linalg.norm(y[:, j] - y[:, i], axis=-1) / np.linalg.norm(y[:, i], axis=-1)
        assert np.allclose(gap, probe.distance, rtol=1e-2)
    assert np.allclose(probe.apply(y), y, rtol=0, atol=1e-14)
    assert np.array_equal(y[:, 0], x[:, 0])  # the first token of a pair stays


def test_a_perturbation_keeps_a_pairs_offset() -> None:
    """The round-off test perturbs by 1e-5; a 1e-9 pair must stay a 1e-9 pair, with the same
    offset (re-drawn, a structured residual would look like round-off)."""
    probe = INPUT_PROBES["near-duplicate-1e-9"]
    rng = np.random.default_rng(1)
    x = probe.apply(rng.standard_normal((1, 6, 8)))
    moved = x + 1e-5 * rng.standard_normal(x.shape)
    kept = probe.keep(x, moved)
    assert np.allclose(kept[:, 1] - kept[:, 0], x[:, 1] - x[:, 0], rtol=0, atol=1e-15)
    general = keep_close_pairs(x[0], moved[0], 1e-3)
    assert np.allclose(general[1] - general[0], x[0, 1] - x[0, 0], rtol=0, atol=1e-15)
    assert np.array_equal(general[2], moved[0, 2])  # a token far from the others moves


def test_the_pull_brings_two_tokens_geometrically_closer() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 8))
    closest = []
    for _ in range(5):
        a = pull_together(a, rng, "float64")
        gaps = np.linalg.norm(a[:, None] - a[None], axis=-1) + np.diag(np.full(6, np.inf))
        closest.append(float(gaps.min()) / float(np.linalg.norm(a, axis=-1).max()))
    assert closest[-1] < 1e-2 and all(c >= 1e-16 for c in closest)
    assert has_close_pair(a, 1e-2) and not has_close_pair(rng.standard_normal((6, 8)), 1e-2)


@pytest.mark.parametrize(("options", "expect", "text"), [
    (("--case", "S(n)/input:near-duplicate-1e-3:1"), 1, "input:near-duplicate-1e-3:1"),
    (("--case", "S(n)/input:near-duplicate-1e-5:0"), 1, "input:near-duplicate-1e-5:0"),
    # 1e-6 is a rung of float32's ladder, not of float64's
    (("--case", "S(n)/input:near-duplicate-1e-6:0"), 2, "no case"),
    # ... and is float32's (a case that exists: a verdict, not exit 2)
    (("--dtype", "float32", "--case", "S(n)/input:near-duplicate-1e-6:0"), None, "S(n)"),
])
def test_a_near_duplicate_case_replays(cli: Cli, options: tuple[str, ...], expect: int | None,
                                       text: str) -> None:
    r = cli("equivariance", f"{MODELS / 'planted_near_dedup.py'}:near_dedup_1e3", *options)
    if expect is not None:
        assert r.exit_code == expect, r.output
    else:
        assert r.exit_code in (0, 1), r.output
    assert text in r.output


def test_cancellation_is_a_measured_note_not_a_failure(cli: Cli, tmp_path: Path) -> None:
    """The directions model is exact; at 1e-15 its error is ~1e-1 (the rounding of g·x). The
    check passes and says so, with the response it measured; the planted merge still fails."""
    import json

    out = tmp_path / "r.json"
    r = cli("equivariance", str(MODELS / "control_directions.py"), "--json", str(out))
    assert r.exit_code == 0, r.output
    notes = [n for n in json.loads(out.read_text())["notes"] if "near-duplicate case" in n]
    assert notes and all("own round-off" in n for n in notes), notes
    assert "float32" not in " ".join(notes)
    r = cli("equivariance", f"{MODELS / 'planted_near_dedup.py'}:near_dedup_1e6")
    assert r.exit_code == 1 and "near-duplicate case" not in r.output, r.output


def test_the_planted_merge_is_off_the_gaussian_path() -> None:
    """In plain numpy: the merge is exact on Gaussian draws and on exact copies, and a swap of
    a pair closer than its threshold changes the output by about their distance."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("zoo_near", MODELS / "planted_near_dedup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(MODELS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(MODELS))
    rng = np.random.default_rng(0)
    swap = np.array([1, 0, 2, 3, 4, 5])
    for f, below in ((module.near_dedup_1e3, 1e-5), (module.near_dedup_1e6, 1e-7)):
        for x in (rng.standard_normal((6, 8)), rng.standard_normal((6, 8))[[0, 0, 2, 3, 4, 5]]):
            assert np.linalg.norm(f(x[swap]) - f(x)[swap]) <= 1e-12 * np.linalg.norm(f(x))
        x = INPUT_PROBES[f"near-duplicate-1e-{round(-np.log10(below))}"].apply(
            rng.standard_normal((1, 6, 8)))[0]
        error = np.linalg.norm(f(x[swap]) - f(x)[swap]) / np.linalg.norm(f(x))
        assert 1e-2 * below < error < 10 * below, (below, error)
