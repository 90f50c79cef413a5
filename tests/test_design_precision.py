"""A model equivariant only to a small level by construction fails with that level measured
and the tolerance to set if that is its design (issue 20, deliverable 2); a large violation
gets no such hint, and the hint's tolerance makes the model pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

MODEL = '''
import numpy as np
import symcheck

@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)"], sizes={"n": 5, "d": 3})
def approx(x):
    return x + 1e-5 * np.abs(x)   # equivariant to about 1e-5 only

@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)"], sizes={"n": 5, "d": 3})
def broken(x):
    return x + np.abs(x)
'''


@pytest.fixture
def model(tmp_path: Path) -> Path:
    (tmp_path / "m.py").write_text(MODEL)
    return tmp_path / "m.py"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_small_failure_names_its_level_and_the_tolerance_to_set(cli: Any, model: Path,
                                                                  seed: int) -> None:
    r = cli("equivariance", f"{model}:approx", "--seed", str(seed))
    assert r.exit_code == 1
    notes = [line for line in r.stdout.splitlines() if "by design" in line]
    assert len(notes) == 1 and "of equivariant" in notes[0], r.stdout
    hinted = notes[0].rsplit("--rtol ", 1)[1].split()[0]
    assert cli("equivariance", f"{model}:approx", "--seed", str(seed), "--rtol",
               hinted).exit_code == 0


def test_a_large_violation_gets_no_design_hint(cli: Any, model: Path) -> None:
    r = cli("equivariance", f"{model}:broken")
    assert r.exit_code == 1 and "by design" not in r.output


def test_the_python_api_words_the_hint_as_a_keyword(model: Path) -> None:
    import symcheck
    from symcheck.sources.python import import_file

    fn = import_file(model).approx
    result = symcheck.check_equivariance(fn)
    assert not result.passed
    assert any("judge it at that level with rtol=" in n for n in result.notes)
