"""The README's numbers about the bundled samples cannot drift.

``samples/make_readme.py`` runs every command whose output the README quotes and rewrites the
generated regions and quoted numbers; this module runs its check, piece by piece, and shows
that the check can fail: a tampered number is reported, round-off digits are not.

Pieces whose commands need an optional package (torch, jax, safetensors) are skipped, visibly,
when it is missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, CliResult, sample_module

MAKE_README = sample_module("make_readme.py")
PIECES = MAKE_README.PIECES
README = (ROOT / "README.md").read_text(encoding="utf-8")
Fresh = Callable[..., dict[str, list[str]]]


@pytest.fixture(scope="module")
def fresh() -> Fresh:
    """``fresh("band-fit", ...)``: those pieces' fresh text; every command runs once in this
    module, whichever pieces quote it."""
    runner = MAKE_README.Runner()
    by_name = {p.name: p for p in PIECES}
    return lambda *names: MAKE_README.measure([by_name[n] for n in names], runner)


def stale_names(text: str, fresh: dict[str, list[str]]) -> list[str]:
    _, stale = MAKE_README.refresh(text, fresh)
    return list(dict.fromkeys(s.piece for s in stale))


def test_every_piece_has_its_place_and_every_region_a_piece() -> None:
    for piece in PIECES:
        assert piece.spans(README), piece.name  # raises LookupError when it is missing
    regions = set(re.findall(r"^<!-- generated: ([\w-]+) -->$", README, re.MULTILINE))
    assert regions == {p.name for p in PIECES if isinstance(p, MAKE_README.Region)}
    assert len({p.name for p in PIECES}) == len(PIECES)


@pytest.mark.parametrize("piece", PIECES, ids=[p.name for p in PIECES])
def test_the_readme_says_what_the_commands_print(piece: Any, fresh: Fresh) -> None:
    for module in piece.needs:
        pytest.importorskip(module, reason=f"{piece.name} runs commands that need {module}")
    new, stale = MAKE_README.refresh(README, fresh(piece.name), [piece])
    assert not stale, MAKE_README.report(stale, README, new)


def tamper(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_a_tampered_number_is_reported_by_its_piece(fresh: Fresh) -> None:
    # one number in a generated region (a transcript) and one in the prose (a quote)
    text = tamper(README, "|  9.02e-01 | 7.61e-02 |", "|  9.42e-01 | 7.61e-02 |")
    text = tamper(text, "(the band sample: 10 → 5)", "(the band sample: 10 → 6)")
    pieces = fresh("equivariance-samples", "positional-report", "band-fit")
    assert stale_names(text, pieces) == ["positional-report", "band-fit"]
    new, stale = MAKE_README.refresh(text, pieces)
    # regeneration restores both (a region it rewrites may carry other round-off digits)
    assert MAKE_README.agree(new, README)
    message = MAKE_README.report(stale, text, new)
    assert message.startswith("README is stale: run python samples/make_readme.py")
    assert "-| S(n)        |    44 |  9.42e-01" in message
    assert "+| S(n)        |    44 |  9.02e-01" in message


def test_an_exit_code_and_a_verdict_are_numbers_too(fresh: Fresh) -> None:
    text = tamper(README, "# exit 1: C turns with Q", "# exit 0: C turns with Q")
    text = tamper(text, "| 2 | 21,973 |", "| 3 | 21,973 |")  # a lower bound
    text = tamper(text, "O(d) **fail** 2e+00, S(n) pass 3e-16, O(d) × S(n) **fail** 3e+00",
                  "O(d) pass 2e+00, S(n) pass 3e-16, O(d) × S(n) **fail** 3e+00")
    pieces = fresh("equivariance-samples", "sparse-samples", "form-commands")
    assert stale_names(text, pieces) == ["equivariance-samples", "sparse-samples",
                                         "form-commands"]


def test_round_off_digits_are_not_stale(fresh: Fresh) -> None:
    """The documented rule: errors below 1e-9 differ between BLAS builds."""
    text = tamper(README, "|  4.41e-16 | 2.46e-16 | 4.21e-16 |", "|  5.5e-16 | 0 | 4.21e-16 |")
    assert stale_names(text, fresh("positional-report")) == []
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
    """The issue's case: ε₁ = 0.0996 here, 0.0998 and 0.0995 on other kernels; d stays exact."""
    row = "| **5** (opt) | 0.0996, 0.096 | 1/3 | 2 | 11,025 |"
    pieces = fresh("sparse-samples")
    for other in ("0.0998", "0.0995"):
        assert stale_names(tamper(README, row, row.replace("0.0996", other)), pieces) == []
    for changed in (row.replace("**5**", "**6**"), row.replace("0.0996", "0.0896"),
                    row.replace("1/3", "2/3")):
        assert stale_names(tamper(README, row, changed), pieces) == ["sparse-samples"]


def test_check_mode_exits_1_with_the_diff_and_writing_repairs_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "README.md"
    copy.write_text(tamper(README, "(the band sample: 10 → 5)", "(the band sample: 9 → 5)"),
                    encoding="utf-8")
    monkeypatch.setattr(MAKE_README, "README", copy)
    assert MAKE_README.main(["--check", "--only", "band-fit"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("README is stale: run python samples/make_readme.py (stale: band-fit)")
    diff = out.splitlines()
    assert any(line.startswith("-") and "(the band sample: 9 → 5)" in line for line in diff)
    assert any(line.startswith("+") and "(the band sample: 10 → 5)" in line for line in diff)
    assert MAKE_README.main(["--only", "band-fit"]) == 0
    assert copy.read_text(encoding="utf-8") == README
    assert MAKE_README.main(["--check", "--only", "band-fit"]) == 0


def test_a_phrase_rewritten_by_hand_is_an_error_not_a_pass() -> None:
    """A quote's pattern must match exactly once: prose edited away from it is caught."""
    band_fit = next(p for p in PIECES if p.name == "band-fit")
    with pytest.raises(LookupError, match="band-fit"):
        band_fit.spans(README.replace("(the band sample: 10 → 5)", "(10 → 5 on the band)"))


def test_chiral_fails_on_every_seed_with_one_trial(cli: Callable[..., CliResult],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The samples table says so: the reflection probes run whatever --trials is."""
    monkeypatch.chdir(ROOT)
    for seed in range(5):
        r = cli("equivariance", "samples/chiral.py", "--trials", "1", "--seed", str(seed))
        assert r.exit_code == 1, r.output
        assert "FAIL: broken: O(d)" in r.stdout
