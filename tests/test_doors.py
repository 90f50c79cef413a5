"""One pipeline under every door: the CLI, ``symcheck check``, the Python API and replay agree,
and the bugs that came from each door assembling its own pipeline stay fixed."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, SAMPLES, CliResult, check_table

Cli = Callable[..., CliResult]
HAS_TORCH = importlib.util.find_spec("torch") is not None
SPEC = ["--in", "n d", "--out", "n d", "--group", "S(n)", "--size", "n=3,d=2"]


def _module(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(f"doors_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed (pip install '.[torch]')")
def test_a_callable_object_in_a_torch_file_gets_tensors_from_every_door(
        cli: Cli, tmp_path: Path) -> None:
    model = tmp_path / "scale.py"
    model.write_text(textwrap.dedent("""
        import torch

        class Scale:
            def __call__(self, x):
                if not isinstance(x, torch.Tensor):
                    raise TypeError(f"expected a tensor, got {type(x).__name__}")
                return 2 * x

        scale = Scale()
    """))
    assert cli("equivariance", f"{model}:scale", *SPEC).exit_code == 0
    (tmp_path / "symcheck.toml").write_text(
        check_table("scale", f"{model.name}:scale", sizes={"n": 3, "d": 2}))
    r = cli("check", "--config", tmp_path / "symcheck.toml")
    assert r.exit_code == 0, r.output
    import symcheck

    scale = _module(model).scale  # type: ignore[attr-defined]
    assert symcheck.check_equivariance(scale, "n d", "n d", "S(n)", {"n": 3, "d": 2}).passed


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed (pip install '.[torch]')")
def test_a_float32_torch_model_gets_no_false_widening_warning(cli: Cli, tmp_path: Path) -> None:
    model = tmp_path / "nets.py"
    model.write_text(textwrap.dedent("""
        import torch

        class Soft(torch.nn.Module):
            def forward(self, x):
                return torch.softmax(x @ x.T, dim=-1) @ x

        class Wide(torch.nn.Module):
            def forward(self, x):
                return (torch.softmax(x @ x.T, dim=-1) @ x).double()
    """))
    args = ["--in", "n d", "--out", "n d", "--group", "S(n)", "--size", "n=4,d=3",
            "--dtype", "float32"]
    clean = cli("equivariance", f"{model}:Soft", *args)
    assert clean.exit_code == 0, clean.output
    assert "higher precision than asked" not in clean.output
    wide = cli("equivariance", f"{model}:Wide", *args)  # the negative control still warns
    assert "the model returned float64" in wide.output


@pytest.mark.parametrize("command", [
    ["equivariance", "{model}", *SPEC, "--json", "{bad}"],
    ["equivariance", "{model}", *SPEC, "--save-counterexample", "{bad}"],
    ["form", "{model}", "--in", "n d", "--out", "n d", "--size", "n=3,d=2", "--json", "{bad}"],
    ["check", "--config", "{config}", "--json", "{bad}"],
    ["check", "--config", "{config}", "--junit", "{bad}"],
    ["replay", "{case}", "{model}", "--json", "{bad}"],
], ids=["equivariance-json", "equivariance-counterexample", "form-json", "check-json",
        "check-junit", "replay-json"])
def test_output_paths_are_checked_before_the_model_runs(cli: Cli, tmp_path: Path,
                                                        command: list[str]) -> None:
    marker = tmp_path / "ran"
    model = tmp_path / "marked.py"
    model.write_text(textwrap.dedent(f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("imported")

        def f(x):
            return x
    """))
    config = tmp_path / "symcheck.toml"
    config.write_text(check_table("f", model.name, sizes={"n": 3, "d": 2}))
    case = tmp_path / "case.npz"
    case.write_bytes(b"")
    bad = tmp_path / "missing" / "out.json"
    r = cli(*(a.format(model=model, bad=bad, config=config, case=case) for a in command))
    assert r.exit_code == 2, r.output
    assert "does not exist" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not marker.exists(), "the model ran although an output path was unusable"


def test_a_closed_stdout_never_changes_the_exit_code() -> None:
    exe = shutil.which("symcheck") or str(Path(sys.executable).with_name("symcheck"))
    for sample, expected in (("attention.py", 0), ("positional.py", 1)):
        script = f"'{exe}' equivariance '{SAMPLES / sample}' | true; echo \"${{PIPESTATUS[0]}}\""
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
        assert out.stdout.strip() == str(expected), (sample, out.stdout, out.stderr)
        assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr


def _counterexample(cli: Cli, tmp_path: Path) -> Path:
    model = tmp_path / "positional.py"
    shutil.copy(SAMPLES / "positional.py", model)
    path = tmp_path / "case.npz"
    r = cli("equivariance", model, "--save-counterexample", path)
    assert r.exit_code == 1 and path.exists(), r.output
    return path


def test_replay_with_an_unknown_backend_is_a_one_line_input_error(cli: Cli,
                                                                  tmp_path: Path) -> None:
    r = cli("replay", _counterexample(cli, tmp_path), "--backend", "foo")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("symcheck: error: --backend: 'foo' is not one of numpy, "
                                "torch, jax")


def test_replay_still_fails_is_fixed_and_cannot_replay(cli: Cli, tmp_path: Path) -> None:
    case = _counterexample(cli, tmp_path)
    assert cli("replay", case).exit_code == 1  # the bug is still there
    fixed = tmp_path / "fixed.py"
    fixed.write_text(textwrap.dedent("""
        import numpy as np
        import symcheck

        @symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)", "C(n)", "O(d)"],
                              sizes={"n": 8, "d": 16})
        def circular_attention(x):
            s = x @ x.T
            w = np.exp(s - s.max(-1, keepdims=True))
            return (w / w.sum(-1, keepdims=True)) @ x
    """))
    r = cli("replay", case, f"{fixed}:circular_attention")
    assert r.exit_code == 0 and "no longer fails" in r.stdout, r.output

    # tampered: an all-zero "orthogonal" matrix or a repeated "permutation" is not replayable
    arrays = dict(np.load(case, allow_pickle=False))
    arrays["element_0"] = np.zeros_like(arrays["element_0"])
    tampered = tmp_path / "tampered.npz"
    np.savez(tampered, **arrays)
    r = cli("replay", tampered, f"{fixed}:circular_attention")
    assert r.exit_code == 2, r.output
    assert "is not a member of" in r.stderr and len(r.stderr.strip().splitlines()) == 1

    # a file saved for another model: the stored name does not match the file next to it
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(case, other / "case.npz")
    (other / "positional.py").write_text("def something_else(x):\n    return x\n")
    r = cli("replay", other / "case.npz")
    assert r.exit_code == 2 and "was saved for" in r.stderr, r.output


def test_replay_works_from_any_folder(cli: Cli, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    case = _counterexample(cli, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = cli("replay", case)
    assert r.exit_code == 1, r.output
    assert str(tmp_path / "positional.py") in r.stdout  # says which file it ran


def test_user_text_is_never_read_as_markup(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "w[red]"
    shutil.copytree(SAMPLES / "weights" / "bert", folder)
    r = cli("equivariance", folder / "model.npz", "--group", "S(n)", "--trials", "2")
    assert f"{folder}/model.npz" in r.stdout, r.stdout
    model = tmp_path / "m[bold].py"
    shutil.copy(SAMPLES / "positional.py", model)
    r = cli("equivariance", model, "--trials", "2")
    assert "m[bold].py" in r.stdout


def test_cli_json_equals_python_api_and_check_gate(cli: Cli, tmp_path: Path) -> None:
    """The same request through three doors gives the same numbers."""
    import symcheck

    out = tmp_path / "cli.json"
    assert cli("equivariance", SAMPLES / "positional.py", "--json", out).exit_code == 1
    via_cli = json.loads(out.read_text())
    positional = _module(SAMPLES / "positional.py")
    api = symcheck.check_equivariance(positional.positional_attention)  # type: ignore[attr-defined]
    assert [g["max"] for g in via_cli["groups"]] == [g.measurement.stat(100) for g in api.groups]
    config = tmp_path / "symcheck.toml"
    config.write_text(f'[[check]]\nname = "p"\nmodel = "{SAMPLES / "positional.py"}"\n')
    gate = tmp_path / "gate.json"
    assert cli("check", "--config", config, "--json", gate).exit_code == 1
    checked = json.loads(gate.read_text())["checks"][0]
    assert [g["max"] for g in checked["result"]["groups"]] == [g["max"]
                                                              for g in via_cli["groups"]]
    # the same recipe; the gate names the file relative to the current folder
    assert checked["replay"].partition(" --in ")[2] == via_cli["replay"].partition(" --in ")[2]


def test_every_module_doctest_runs() -> None:
    """Every module of the package that has examples runs them (optional frameworks skip)."""
    import doctest
    import pkgutil

    import symcheck

    with_examples = 0
    for info in pkgutil.walk_packages(symcheck.__path__, "symcheck."):
        if info.name.endswith(("torch_backend", "jax_backend")) and not HAS_TORCH:
            continue
        module = importlib.import_module(info.name)
        tests = doctest.DocTestFinder().find(module)
        if any(t.examples for t in tests):
            with_examples += 1
        old = os.getcwd()
        try:
            result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        finally:
            os.chdir(old)
        assert result.failed == 0, info.name
    assert with_examples >= 30
