"""``symcheck sparse-sweep``: families, lengths, the table, the slope, the plot and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from symcheck.cli import app
from symcheck.cli.common import CLI
from symcheck.core.errors import SymcheckError
from symcheck.sparse.sweep import family_matrix, parse_lengths, sweep


def test_lengths() -> None:
    assert parse_lengths("64..256") == [64, 128, 256]
    assert parse_lengths("100, 50") == [50, 100]
    for bad in ("", "1..8", "8..4", "a,b", "0"):
        with pytest.raises(SymcheckError, match=r"^lengths: ") as info:
            parse_lengths(bad)
        assert info.value.worded(CLI).startswith("--lengths: ")


@pytest.mark.parametrize(("family", "k", "most"), [("random", 3, 3), ("band", 4, 4),
                                                    ("permutation", 9, 1)])
def test_families_have_the_stated_row_supports(family: str, k: int, most: int) -> None:
    a = family_matrix(family, 64, k, seed=5)
    counts = a.getnnz(axis=1)
    assert counts.max() == most and counts.min() >= 1
    again = family_matrix(family, 64, k, seed=5)
    assert (a != again).nnz == 0  # the seed decides the target
    if family == "random":
        assert (family_matrix(family, 64, k, seed=6) != a).nnz > 0
        assert np.all((a.data >= 0.5) & (a.data <= 1.5))


def test_block_family_has_global_tokens() -> None:
    a = family_matrix("block", 32, 4, seed=0).toarray()
    assert np.all(a[:, :2] > 0) and np.all(a[:2] > 0)
    assert a[10, 8:12].min() > 0 and a[10, 12:].sum() == 0


def test_sweep_poly_is_flat_and_verified() -> None:
    res = sweep("random", 2, [32, 64, 128], methods=("poly", "opt"), time_limit=10)
    assert [r.cells["poly"].d for r in res.rows] == [4, 4, 4]
    slope = res.slope("poly")
    assert slope is not None and abs(slope[0]) < 1e-9
    assert all(r.cells["opt"].d is not None for r in res.rows)


def test_cli_table_seed_and_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "d.png"
    out = tmp_path / "s.json"
    r = CliRunner().invoke(app, ["sparse-sweep", "permutation", "--lengths", "16..64",
                                 "--methods", "poly,jl", "--seed", "7", "--plot", str(png),
                                 "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "seed 7" in r.output and "default_rng([7, L])" in r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(out.read_text())
    assert [row["L"] for row in data["rows"]] == [16, 32, 64]
    assert all(row["poly"]["d"] == 2 for row in data["rows"])
    assert all(row["jl"]["d"] > 64 for row in data["rows"])  # the paper's needs d above L


def test_cli_without_matplotlib_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import symcheck.report.sparse as report

    monkeypatch.setattr(report, "plot_unavailable", lambda: report.PLOT_HINT)
    png = tmp_path / "d.png"
    r = CliRunner().invoke(app, ["sparse-sweep", "random", "--k", "2", "--lengths", "16,32",
                                 "--methods", "poly", "--plot", str(png)])
    assert r.exit_code == 0, r.output
    assert "pip install 'symcheck[plot]'" in r.output and "pip install '.[plot]'" in r.output
    assert not png.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cubes"], "FAMILY: 'cubes' is not one of"),
        (["random", "--lengths", "x"], "--lengths"),
        (["random", "--methods", "poly,svd"], "--methods"),
        (["random", "--k", "0"], "--k"),
        (["random", "--plot", "d.jpg"], "--plot"),
        (["random", "--seed", "-1"], "--seed"),
        (["random", "--time-limit", "0"], "--time-limit"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["sparse-sweep", *args, "--lengths", "16"] if "--lengths" not in
                           args else ["sparse-sweep", *args])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
