"""Ruff and mypy, as configured in pyproject.toml, are part of the suite."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_clean() -> None:
    proc = _run("ruff", "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_clean() -> None:
    proc = _run("mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_core_and_the_engine_pass_mypy_strict() -> None:
    """The overrides in pyproject.toml are mypy --strict's flags; this holds them to --strict
    itself, so a flag --strict gains in a later mypy is not missed."""
    proc = _run("mypy", "--strict", "symcheck/core", "symcheck/engine")
    assert proc.returncode == 0, proc.stdout + proc.stderr
