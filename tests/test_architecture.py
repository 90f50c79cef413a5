"""The architecture as a test: the import-layer contract in pyproject.toml, the doors, and the
wording of errors by the door that shows them."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT, "--config", str(root / "pyproject.toml")], cwd=root,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(root)})


def test_import_layers_are_kept() -> None:
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_the_core_importing_the_cli_breaks_the_contract(tmp_path: Path) -> None:
    """A negative control: the contract is not vacuous."""
    shutil.copytree(ROOT / "symcheck", tmp_path / "symcheck",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    specs = tmp_path / "symcheck" / "core" / "specs.py"
    specs.write_text(specs.read_text() + "\n\ndef _bad() -> None:\n    import symcheck.cli\n")
    r = _lint(tmp_path)
    assert r.returncode != 0
    assert "symcheck.core.specs -> symcheck.cli" in r.stdout


#: string tests that took case labels and group-set names apart again: a case is a
#: :class:`~symcheck.core.caseid.CaseId`, read from text only by ``CaseId.parse``
LABEL_PARSING = re.compile(
    r"""startswith\(\(?["'](?:haar|identity|size|input|probe|search|calibrate)\b"""
    r"""|removeprefix\(["']size|["'] x ["']|\.split\(["']:["']\)|rpartition\(["']/["']\)"""
    r"""|\b_probe_of\b|\b_kind\(|_split_case"""
)
#: (file, line text) that match for another reason: an error message split in a doctest
NOT_LABELS = {("symcheck/backends/torch_backend.py", '>>> e.message.split(":")[0]')}


def label_parsing(path: str, text: str, skip: range = range(0)) -> list[str]:
    """``path:line: text`` of each line of ``text`` that takes a case label apart."""
    return [f"{path}:{k}: {line.strip()}" for k, line in enumerate(text.splitlines(), 1)
            if k not in skip and LABEL_PARSING.search(line)
            and (path, line.strip()) not in NOT_LABELS]


def test_no_case_label_is_taken_apart_outside_its_parse() -> None:
    from symcheck.core.caseid import CaseId

    lines, first = inspect.getsourcelines(CaseId.parse.__func__)  # type: ignore[attr-defined]
    parse = range(first, first + len(lines))
    found = []
    for file in sorted((ROOT / "symcheck").rglob("*.py")):
        path = file.relative_to(ROOT).as_posix()
        found += label_parsing(path, file.read_text(encoding="utf-8"),
                               parse if path == "symcheck/core/caseid.py" else range(0))
    assert not found, "case labels parsed as strings:\n" + "\n".join(found)


@pytest.mark.parametrize("line", [
    'if r.case.startswith("haar:"):', 'probe = label.split(":")[1]',
    'kind.removeprefix("size ")', 'name = part.replace(" x ", " × ")',
    'group, _, case = text.rpartition("/")', 'family = _kind(e.result.case)',
    "if c.startswith(('input:', 'size:')):",
])
def test_the_label_parsing_scan_finds_a_planted_one(line: str) -> None:
    """A negative control: the scan is not vacuous."""
    assert label_parsing("symcheck/engine/x.py", f"x = 1\n    {line}\n") == [
        f"symcheck/engine/x.py:2: {line}"]


def test_the_python_api_imports_neither_typer_nor_rich() -> None:
    code = textwrap.dedent("""
        import sys, numpy as np, symcheck
        symcheck.check_equivariance(np.tanh, "n d", "n d", ["S(n)"], {"n": 3, "d": 2})
        print(sorted(m for m in ("typer", "rich", "click") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_a_missing_size_names_the_argument_of_each_door(tmp_path: Path) -> None:
    import symcheck
    from symcheck.core.errors import SpecError

    with pytest.raises(SpecError) as info:
        symcheck.check_equivariance(np.tanh, "n d", "n d", ["S(n)"], {"n": 3})
    message = str(info.value)
    assert message.startswith("sizes: no size for 'd'") and "sizes={'d': 8}" in message
    assert "--size" not in message

    from symcheck.app.config import CONFIG
    from symcheck.cli.common import CLI

    assert info.value.worded(CLI).endswith("pass e.g. --size d=8")
    assert info.value.worded(CONFIG).endswith("pass e.g. sizes = { d = 8 }")
