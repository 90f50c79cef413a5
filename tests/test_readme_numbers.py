"""The numbers README.md and docs/ quote about the bundled samples cannot drift.

``samples/make_readme.py`` runs every command whose output README.md or a page of docs/ quotes
and rewrites the generated regions and quoted numbers, each in the file it lives in; this
module runs its check, piece by piece, and shows that the check can fail: a tampered number is
reported in its file, round-off digits are not.

Pieces whose commands need an optional package (torch, jax, safetensors) are skipped, visibly,
when it is missing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, CliResult, sample_module

MAKE_README = sample_module("make_readme.py")
PIECES = MAKE_README.PIECES
TEXTS = MAKE_README.read_files(PIECES)  # file → text, README.md and the pages of docs/
README, SPARSE, FORM = "README.md", "docs/sparse.md", "docs/form.md"
Fresh = Callable[..., dict[str, list[str]]]


@pytest.fixture(scope="module")
def fresh() -> Fresh:
    """``fresh("band-fit", ...)``: those pieces' fresh text; every command runs once in this
    module, whichever pieces quote it."""
    runner = MAKE_README.Runner()
    by_name = {p.name: p for p in PIECES}
    return lambda *names: MAKE_README.measure([by_name[n] for n in names], runner)


def stale_names(texts: Mapping[str, str], fresh: dict[str, list[str]]) -> list[str]:
    _, stale = MAKE_README.refresh(texts, fresh)
    return list(dict.fromkeys(s.piece for s in stale))


def test_every_piece_has_its_place_and_every_region_a_piece() -> None:
    for piece in PIECES:
        assert piece.spans(TEXTS[piece.file]), piece.name  # a LookupError when it is missing
    for file in MAKE_README.documents():  # README.md and every page of docs/
        text = (ROOT / file).read_text(encoding="utf-8")
        regions = set(re.findall(r"^<!-- generated: ([\w-]+) -->$", text, re.MULTILINE))
        assert regions == {p.name for p in PIECES
                           if isinstance(p, MAKE_README.Region) and p.file == file}, file
    assert MAKE_README.unclaimed_regions() == []
    assert len({p.name for p in PIECES}) == len(PIECES)


@pytest.mark.parametrize("piece", PIECES, ids=[p.name for p in PIECES])
def test_the_readme_says_what_the_commands_print(piece: Any, fresh: Fresh) -> None:
    for module in piece.needs:
        pytest.importorskip(module, reason=f"{piece.name} runs commands that need {module}")
    new, stale = MAKE_README.refresh(TEXTS, fresh(piece.name), [piece])
    assert not stale, MAKE_README.report(stale, TEXTS, new)


def tamper(texts: Mapping[str, str], file: str, old: str, new: str) -> dict[str, str]:
    assert texts[file].count(old) == 1, old
    return {**texts, file: texts[file].replace(old, new)}


def test_a_tampered_number_is_reported_by_its_piece(fresh: Fresh) -> None:
    # one number in a generated region of README.md (a transcript) and one in the prose of
    # docs/sparse.md (a quote)
    texts = tamper(TEXTS, README, "|  9.02e-01 | 7.09e-02 |", "|  9.42e-01 | 7.09e-02 |")
    texts = tamper(texts, SPARSE, "(the band sample: 10 → 5)", "(the band sample: 10 → 6)")
    pieces = fresh("equivariance-samples", "positional-report", "band-fit")
    assert stale_names(texts, pieces) == ["positional-report", "band-fit"]
    new, stale = MAKE_README.refresh(texts, pieces)
    assert [(s.piece, s.file) for s in stale] == [("positional-report", README),
                                                  ("band-fit", SPARSE)]
    # regeneration restores both (a region it rewrites may carry other round-off digits)
    assert all(MAKE_README.agree(new[f], TEXTS[f]) for f in TEXTS)
    message = MAKE_README.report(stale, texts, new)
    assert message.startswith("README.md/docs are stale: run python samples/make_readme.py "
                              "(stale: positional-report in README.md, band-fit in "
                              "docs/sparse.md)")
    assert "-| S(n)        |    60 |  9.42e-01" in message
    assert "+| S(n)        |    60 |  9.02e-01" in message
    assert "--- docs/sparse.md\n+++ docs/sparse.md (fresh)" in message
    assert "--- docs/form.md" not in message  # a file with nothing stale has no diff


def test_an_exit_code_and_a_verdict_are_numbers_too(fresh: Fresh) -> None:
    texts = tamper(TEXTS, FORM, "# exit 1: C turns with Q", "# exit 0: C turns with Q")
    texts = tamper(texts, SPARSE, "| 2 | 21,973 |", "| 3 | 21,973 |")  # a lower bound
    texts = tamper(texts, "docs/equivariance.md",
                   "O(d) **fail** 3e+00, S(n) pass 2e-16, O(d) × S(n) **fail** 3e+00",
                   "O(d) pass 3e+00, S(n) pass 2e-16, O(d) × S(n) **fail** 3e+00")
    line = next(x for x in TEXTS[README].splitlines() if x.startswith(
        "symcheck equivariance samples/attention.py  "))
    texts = tamper(texts, README, line, line.replace("# exit 0", "# exit 1"))
    pieces = fresh("quick-start", "equivariance-samples", "sparse-samples", "form-commands")
    assert stale_names(texts, pieces) == ["quick-start", "equivariance-samples",
                                          "sparse-samples", "form-commands"]


def test_round_off_digits_are_not_stale(fresh: Fresh) -> None:
    """The documented rule: errors below 1e-9 differ between BLAS builds."""
    texts = tamper(TEXTS, README, "|  4.54e-16 | 2.49e-16 | 4.22e-16 |",
                   "|  5.5e-16 | 0 | 4.22e-16 |")
    assert stale_names(texts, fresh("positional-report")) == []
    assert MAKE_README.agree("error 3e-16", "error 0")
    assert not MAKE_README.agree("error 3e-09", "error 0")


# (README's number, what another machine prints, whether that is the same result)
RULE = [
    ("0.0996", "0.0998", True),    # the band sample's ε₁ on another CPU
    ("0.0996", "0.0995", True),    # ... and with OpenBLAS's Sandybridge kernels
    ("9.02e-01", "9.03e-01", True),  # a last digit on a rounding boundary
    ("0.096", "0.0962", True),
    ("0.0996", "0.105", False),    # a real change: 5 %
    ("9.02e-01", "9.42e-01", False),
    ("2e+00", "3e+00", False),
    ("0.5", "-0.5", False),
    ("5", "6", False),             # an integer (d, a count, an exit code) is exact
    ("21", "21.0", False),
    ("1024", "1025", False),
    ("0", "3e-16", True),          # round-off
    ("0", "1e-08", False),
]


@pytest.mark.parametrize(("readme", "machine", "same"), RULE)
def test_integers_are_exact_and_other_numbers_agree_within_the_band(
        readme: str, machine: str, same: bool) -> None:
    assert MAKE_README.same_number(readme, machine) is same
    assert MAKE_README.agree(f"| **5** (opt) | {readme}, x |",
                             f"| **5** (opt) | {machine}, x |") is same
    assert not MAKE_README.agree(f"| {readme} |", f"| {readme} | extra |")


def test_the_band_samples_numbers_hold_on_other_kernels(fresh: Fresh) -> None:
    """The band sample: ε₁ = 0.0996 here, 0.0998 and 0.0995 on other kernels; d stays exact."""
    row = "| **5** (opt) | 0.0996, 0.096 | 1/3 | 2 | 11,025 |"
    pieces = fresh("sparse-samples")
    for other in ("0.0998", "0.0995"):
        assert stale_names(tamper(TEXTS, SPARSE, row, row.replace("0.0996", other)), pieces) == []
    for changed in (row.replace("**5**", "**6**"), row.replace("0.0996", "0.0896"),
                    row.replace("1/3", "2/3")):
        assert stale_names(tamper(TEXTS, SPARSE, row, changed), pieces) == ["sparse-samples"]


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """README.md and docs/ copied to ``tmp_path``, where make_readme reads and writes them."""
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    monkeypatch.setattr(MAKE_README, "DOCS_ROOT", tmp_path)
    return tmp_path


def test_check_mode_exits_1_with_the_diff_and_writing_repairs_it(
        copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = copy / SPARSE
    page.write_text(tamper(TEXTS, SPARSE, "(the band sample: 10 → 5)",
                           "(the band sample: 9 → 5)")[SPARSE], encoding="utf-8")
    assert MAKE_README.main(["--check", "--only", "band-fit"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("README.md/docs are stale: run python samples/make_readme.py "
                          "(stale: band-fit in docs/sparse.md)")
    diff = out.splitlines()
    assert "--- docs/sparse.md" in diff
    assert any(line.startswith("-") and "(the band sample: 9 → 5)" in line for line in diff)
    assert any(line.startswith("+") and "(the band sample: 10 → 5)" in line for line in diff)
    assert MAKE_README.main(["--only", "band-fit"]) == 0
    assert "docs/sparse.md: 1 stale of 1 piece rewritten (band-fit)" in capsys.readouterr().out
    assert page.read_text(encoding="utf-8") == TEXTS[SPARSE]
    assert (copy / README).read_text(encoding="utf-8") == TEXTS[README]  # left alone
    assert MAKE_README.main(["--check", "--only", "band-fit"]) == 0
    assert capsys.readouterr().out == "docs/sparse.md: up to date (1 piece)\n"


def test_a_region_no_piece_writes_is_an_error(
        copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A generated region added to a page without its piece would never be checked."""
    (copy / "docs" / "new.md").write_text(
        "# New\n\n<!-- generated: orphan -->\ntext\n<!-- end: orphan -->\n", encoding="utf-8")
    assert MAKE_README.unclaimed_regions() == ["docs/new.md: orphan"]
    assert MAKE_README.main(["--check", "--only", "band-fit"]) == 2
    assert "no piece writes the region docs/new.md: orphan" in capsys.readouterr().err


def test_a_phrase_rewritten_by_hand_is_an_error_not_a_pass() -> None:
    """A quote's pattern must match exactly once: prose edited away from it is caught."""
    band_fit = next(p for p in PIECES if p.name == "band-fit")
    assert band_fit.file == SPARSE
    with pytest.raises(LookupError, match=re.escape("docs/sparse.md: quote 'band-fit'")):
        band_fit.spans(TEXTS[SPARSE].replace("(the band sample: 10 → 5)",
                                             "(10 → 5 on the band)"))


def test_chiral_fails_on_every_seed_with_one_trial(cli: Callable[..., CliResult],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The samples table says so: the reflection probes run whatever --trials is."""
    monkeypatch.chdir(ROOT)
    for seed in range(5):
        r = cli("equivariance", "samples/chiral.py", "--trials", "1", "--seed", str(seed))
        assert r.exit_code == 1, r.output
        assert "FAIL: broken: O(d)" in r.stdout
