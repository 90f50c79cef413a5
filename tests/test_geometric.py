"""The geometric-models commands of docs/geometric.md, run as written, and an EGNN layer
(egnn-pytorch) checked under E(3) × S(n) through the Python API, the CLI and a real subprocess.

Rows whose sample needs egnn-pytorch or e3nn are skipped, visibly, when it is missing."""

from __future__ import annotations

import copy
import importlib
import re
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from symcheck.api import check_equivariance
from tests.conftest import ROOT, SAMPLES, CliResult

Cli = Callable[..., CliResult]
NEEDS = {"egnn_layer.py": "egnn_pytorch", "tensor_product.py": "e3nn"}
EGNN_SPECS = (["b n f", "b n c:point"], ["b n f", "b n c:point"])
EGNN_SIZES = {"b": 2, "n": 6, "f": 8, "c": 3}


def available(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def readme_commands() -> list[tuple[str, int]]:
    text = (ROOT / "docs" / "geometric.md").read_text()
    table = text[text.index("<!-- geometric-commands -->"):].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(symcheck [^`]+)` \| .* \| (\d) \|$", table, re.MULTILINE)
    return [(command, int(code)) for command, code in rows]


def test_the_readme_table_lists_the_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 12
    assert {code for _, code in commands} == {0, 1}


@pytest.mark.parametrize(("command", "code"), readme_commands(),
                         ids=[c.split("geometric/")[1] for c, _ in readme_commands()])
def test_readme_command_verdicts(cli: Cli, monkeypatch: pytest.MonkeyPatch, command: str,
                                 code: int) -> None:
    for sample, module in NEEDS.items():
        if sample in command and not available(module):
            pytest.skip(f"{module} is not installed")
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    r = cli(*args)
    assert r.exit_code == code, r.output
    assert ("PASS:" if code == 0 else "FAIL: broken:") in r.stdout


@pytest.fixture(scope="module")
def egnn() -> Any:
    pytest.importorskip("egnn_pytorch", reason="egnn-pytorch is not installed")
    sys.path.insert(0, str(SAMPLES / "geometric"))
    try:
        from egnn_layer import Layer
    finally:
        sys.path.remove(str(SAMPLES / "geometric"))
    return Layer()


def test_egnn_really_moves_points_and_features(egnn: Any) -> None:
    """The check must test a layer that does something: its coordinate update is O(1)."""
    import torch

    rng = np.random.default_rng(0)
    feats, coors = (torch.from_numpy(rng.standard_normal(s)) for s in ((2, 6, 8), (2, 6, 3)))
    with torch.no_grad():
        out_feats, out_coors = copy.deepcopy(egnn).double()(feats, coors)
    assert float((out_coors - coors).abs().mean()) > 0.05
    assert float((out_feats - feats).abs().mean()) > 0.05


@pytest.mark.parametrize("seed", range(3))
def test_egnn_is_e3_and_permutation_equivariant(egnn: Any, seed: int) -> None:
    r = check_equivariance(egnn, *EGNN_SPECS, ["E(c)", "S(n)"], EGNN_SIZES, seed=seed, trials=8)
    assert {g.measurement.name: g.verdict for g in r.groups} == {
        "E(c)": "pass", "S(n)": "pass", "E(c) × S(n)": "pass"}


@pytest.mark.parametrize("seed", range(3))
def test_egnn_negative_controls(egnn: Any, seed: int) -> None:
    """Coordinates declared vectors, or features declared to rotate: both wrong, both fail."""
    r = check_equivariance(egnn, EGNN_SPECS[0], ["b n f", "b n c"], ["E(c)"], EGNN_SIZES,
                           seed=seed, trials=4)
    assert not r.passed
    r = check_equivariance(egnn, EGNN_SPECS[0], ["b n f", "b n c:point"], ["T(c)"],
                           EGNN_SIZES, seed=seed, trials=4)
    assert r.passed  # translations alone: the coordinates are points, the features invariant
    # a layer fed absolute positions as features is no longer E(3)-equivariant
    import torch

    model = copy.deepcopy(egnn).double().eval()

    def absolute(feats: np.ndarray, coors: np.ndarray) -> tuple[np.ndarray, ...]:
        f, c = (torch.as_tensor(np.asarray(a)) for a in (feats, coors))
        with torch.no_grad():
            out = model(torch.cat([f[..., :5], c], dim=-1), c)
        return tuple(o.numpy() for o in out)

    r = check_equivariance(absolute, *EGNN_SPECS, ["E(c)"], EGNN_SIZES, seed=seed, trials=4)
    assert not r.passed
    r = check_equivariance(absolute, *EGNN_SPECS, ["S(n)"], EGNN_SIZES, seed=seed, trials=4)
    assert r.passed


def test_egnn_with_specs_on_the_command_line(egnn: Any, cli: Cli) -> None:
    """Specs on the command line (no declaration in the file), and the exit code they give."""
    r = cli("equivariance", SAMPLES / "geometric" / "egnn_layer.py", "--in", "b n f", "--in",
            "b n c:point", "--out", "b n f", "--out", "b n c:point", "--group", "E(c)",
            "--group", "S(n)", "--size", "b=2,n=6,f=8,c=3", "--trials", "5")
    assert r.exit_code == 0, r.output
    assert "PASS: equivariant under E(c), S(n), E(c) × S(n)" in r.stdout


def test_the_config_door_takes_the_same_tokens(cli: Cli, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """``symcheck check`` with ``label:rep`` tokens in the config: the same verdicts."""
    for sample in ("points.py", "cross.py"):
        shutil.copy(SAMPLES / "geometric" / sample, tmp_path / sample)
    entry = ('[[check]]\nname = "{name}"\nmodel = "{model}"\ninputs = {inputs}\n'
             'output = "{output}"\ngroups = {groups}\nsizes = {{ n = 5, c = 3 }}\ntrials = 4\n')
    checks = [
        ("update", "points.py:update", '["n c:point"]', "n c:point", '["E(c)", "S(n)"]'),
        ("cross", "cross.py:cross", '["n c", "n c"]', "n c:axial", '["O(c)"]'),
        ("dilate", "points.py:dilate", '["n c:point"]', "n c:point", '["E(c)"]'),
    ]
    config = tmp_path / "symcheck.toml"
    config.write_text("\n".join(entry.format(name=n, model=m, inputs=i, output=o, groups=g)
                                for n, m, i, o, g in checks))
    monkeypatch.chdir(tmp_path)
    r = cli("check", "--config", config)
    assert r.exit_code == 1, r.output
    assert "2 passed, 1 failed" in r.stdout and "dilate" in r.stdout
    config.write_text("\n".join(entry.format(name=n, model=m, inputs=i, output=o, groups=g)
                                for n, m, i, o, g in checks[:2]))
    assert cli("check", "--config", config).exit_code == 0
