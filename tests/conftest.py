"""Shared fixtures: run the CLI in-process and capture what it prints."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def sample_module(relative: str) -> ModuleType:
    """A script under samples/ (``"kernels/make_table.py"``), imported once by its path.

    The samples are scripts, not a package; the module is registered in ``sys.modules`` under
    a name of its own because dataclasses look their module up there.
    """
    name = "symcheck_sample_" + relative.removesuffix(".py").replace("/", "_")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SAMPLES / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def missing(extra: str) -> str:
    """Why a test of symcheck's optional ``extra`` (torch, jax, safetensors) is skipped."""
    return f"{extra} is not installed (pip install 'symcheck[{extra}]')"


def installed(extra: str) -> bool:
    return importlib.util.find_spec(extra) is not None


def needs(extra: str) -> pytest.MarkDecorator:
    """``@needs("torch")``: skip the test where that optional extra is not installed."""
    return pytest.mark.skipif(not installed(extra), reason=missing(extra))


def check_table(name: str, model: str, *, inputs: Sequence[str] = ("n d",),
                output: str = "n d", groups: Sequence[str] = ("S(n)",),
                sizes: Mapping[str, int], **more: int) -> str:
    """One ``[[check]]`` table of a symcheck.toml, as a config author writes it.

    >>> print(check_table("f", "m.py", sizes={"n": 3, "d": 2}, trials=4), end="")
    <BLANKLINE>
    [[check]]
    name = "f"
    model = "m.py"
    inputs = ["n d"]
    output = "n d"
    groups = ["S(n)"]
    sizes = { n = 3, d = 2 }
    trials = 4
    """
    lines = [
        "", "[[check]]", f"name = {json.dumps(name)}", f"model = {json.dumps(model)}",
        f"inputs = {json.dumps(list(inputs))}", f"output = {json.dumps(output)}",
        f"groups = {json.dumps(list(groups))}",
        "sizes = { " + ", ".join(f"{k} = {v}" for k, v in sizes.items()) + " }",
        *(f"{k} = {v}" for k, v in more.items()),
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _log_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test reads output as a CI log does (120 columns, a message per line), whatever
    terminal pytest runs in: without COLUMNS, output that is not a terminal takes the width of
    the controlling terminal. Tests of that delete COLUMNS themselves."""
    monkeypatch.setenv("COLUMNS", "120")


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """``cli("equivariance", "model.py")`` runs ``symcheck`` through its real entry point.

    Output is ANSI-stripped; the exit code is whatever ``main`` passed to ``sys.exit``.
    """
    from symcheck.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        else:  # pragma: no cover - main always exits
            code = 0
        out, err = capsys.readouterr()
        return CliResult(code, _ANSI.sub("", out), _ANSI.sub("", err))

    return run
