"""Framework backends: torch modules and functions, jax functions, the missing-extra messages.

Torch and jax tests are skipped, visibly, only when the framework is not installed. The
missing-framework messages are tested by hiding an installed framework (``sys.modules[name] =
None`` makes ``import name`` fail), since CI installs torch.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from symcheck.api import check_equivariance
from symcheck.backends import adapt
from symcheck.core.errors import MissingExtraError
from symcheck.sources.python import load_python
from tests.conftest import ROOT, SAMPLES, CliResult, needs

Cli = Callable[..., CliResult]
needs_torch, needs_jax = needs("torch"), needs("jax")
SIZES = {"n": 6, "d": 4}


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def test_core_imports_no_framework() -> None:
    code = ("import sys, symcheck.cli, symcheck.engine, symcheck.sources.weights, "
            "symcheck.backends; "
            "print([m for m in ('torch', 'jax', 'safetensors') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


# --- torch ---------------------------------------------------------------------------------

@needs_torch
def test_torch_module_runs_in_float64_on_a_copy_in_eval_mode() -> None:
    import torch

    seen: list[Any] = []

    class Probe(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(4))
            self.drop = torch.nn.Dropout(0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append((x.dtype, self.training, torch.is_grad_enabled()))
            return self.drop(x) * self.scale

    module = Probe()
    name, fn = adapt(module)
    out = fn(np.ones((3, 4)))
    assert name == "torch"
    assert seen[-1] == (torch.float64, False, False)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, np.ones((3, 4)))  # eval: dropout is off
    # the user's module is untouched
    assert module.training and module.scale.dtype == torch.float32
    adapt(module, "float32")[1](np.ones((3, 4)))
    assert seen[-1][0] == torch.float32


@needs_torch
def test_torch_tuple_outputs_and_check_equivariance() -> None:
    import torch

    class TwoHeads(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            w = torch.softmax(x @ x.T, dim=-1)
            return w @ x, w

    r = check_equivariance(TwoHeads(), "n d", ["n d", "n n"], ["O(d)", "S(n)"], SIZES, trials=3)
    assert r.passed
    assert max(g.measurement.stat(100) for g in r.groups) < 1e-13  # float64, not float32


@needs_torch
def test_torch_negative_control_fails(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "positional.py", """
        import torch
        import symcheck

        @symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 5, "d": 3})
        def add_position(x):
            return x + torch.arange(x.shape[0], dtype=x.dtype)[:, None]
    """)
    r = cli("equivariance", path, "--trials", "3")
    assert r.exit_code == 1, r.output
    assert "FAIL: broken: S(n)" in r.stdout


@needs_torch
def test_function_in_a_torch_file_gets_tensors(tmp_path: Path) -> None:
    import torch

    path = write(tmp_path, "fn.py", """
        import torch
        def f(x):
            assert isinstance(x, torch.Tensor)
            return torch.tanh(x)
    """)
    loaded = load_python(str(path))
    name, fn = adapt(loaded.obj, "float64", loaded.namespace)
    assert name == "torch" and fn(np.zeros((2, 2))).dtype == np.float64
    assert isinstance(torch, object)


def test_numpy_only_file_stays_numpy(tmp_path: Path) -> None:
    path = write(tmp_path, "fn.py", """
        import numpy as np
        def f(x):
            return np.tanh(x)
    """)
    loaded = load_python(str(path))
    assert adapt(loaded.obj, "float64", loaded.namespace)[0] == "numpy"


@needs_torch
def test_torch_sample_cli(cli: Cli) -> None:
    assert cli("equivariance", SAMPLES / "torch_model.py", "--trials", "3").exit_code == 0
    r = cli("equivariance", SAMPLES / "torch_model.py", "--group", "O(d)", "--trials", "3")
    assert r.exit_code == 1
    assert "FAIL: broken: O(d)" in r.stdout
    assert cli("equivariance", SAMPLES / "torch_model.py", "--dtype", "float32",
               "--trials", "3").exit_code == 0


# --- jax -----------------------------------------------------------------------------------

@needs_jax
def test_jax_plain_and_jitted_functions_run_in_float64(tmp_path: Path) -> None:
    import jax
    import jax.numpy as jnp

    path = write(tmp_path, "jx.py", """
        import jax
        def attention(x):
            return jax.nn.softmax(x @ x.T, axis=-1) @ x
    """)
    loaded = load_python(f"{path}:attention")
    assert adapt(loaded.obj, "float64", loaded.namespace)[0] == "jax"  # the file imports jax
    for fn in (loaded.obj, jax.jit(loaded.obj)):
        assert adapt(fn)[0] == "jax"  # its globals, or a jitted object's type
        r = check_equivariance(fn, "n d", "n d", ["O(d)", "S(n)"], SIZES, trials=3)
        assert r.passed
        assert max(g.measurement.stat(100) for g in r.groups) < 1e-13  # x64 is on
    # ... only during symcheck's calls: the process-wide setting is the user's
    assert jnp.zeros(1).dtype == jnp.float32 and not jax.config.jax_enable_x64


@needs_jax
@pytest.mark.parametrize("scoped", [True, False], ids=["jax.enable_x64", "saved-flag"])
@pytest.mark.parametrize("user_x64", [False, True])
def test_jax_checks_leave_the_x64_setting_as_they_found_it(
        monkeypatch: pytest.MonkeyPatch, scoped: bool, user_x64: bool) -> None:
    import jax
    import jax.numpy as jnp

    if not scoped:  # an older jax without the context manager: the flag is saved and restored
        monkeypatch.delattr(jax, "enable_x64", raising=False)
    seen: list[Any] = []

    @jax.jit  # a jax type, so the jax backend claims it
    def attention(x: Any) -> Any:
        seen.append(x.dtype)  # at tracing: once per dtype and x64 setting
        return jax.nn.softmax(x @ x.T, axis=-1) @ x

    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", user_x64)
    try:
        r = check_equivariance(attention, "n d", "n d", ["O(d)"], SIZES, trials=2)
        assert r.passed and set(seen) == {jnp.dtype("float64")}
        assert max(g.measurement.stat(100) for g in r.groups) < 1e-13
        assert jax.config.jax_enable_x64 is user_x64
        seen.clear()
        check_equivariance(attention, "n d", "n d", ["O(d)"], SIZES, trials=2, dtype="float32")
        assert set(seen) == {jnp.dtype("float32")}
        assert jax.config.jax_enable_x64 is user_x64
    finally:
        jax.config.update("jax_enable_x64", before)


@needs_jax
def test_jax_sample_cli(cli: Cli) -> None:
    r = cli("equivariance", SAMPLES / "jax_model.py", "--trials", "3")
    assert r.exit_code == 0, r.output
    assert "PASS: equivariant under O(d), S(n)" in r.stdout


@needs_torch
@needs_jax
def test_backend_override(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "both.py", """
        import numpy as np
        import torch
        def f(x):
            return np.tanh(np.asarray(x))
    """)
    loaded = load_python(str(path))
    assert adapt(loaded.obj, "float64", loaded.namespace)[0] == "torch"
    r = cli("equivariance", path, "--in", "n d", "--out", "n d", "--group", "S(n)",
            "--size", "n=4,d=3", "--backend", "numpy", "--trials", "2")
    assert r.exit_code == 0, r.output


def test_unknown_backend_exits_2(cli: Cli) -> None:
    r = cli("equivariance", SAMPLES / "attention.py", "--backend", "tensorflow")
    assert r.exit_code == 2
    assert "--backend: 'tensorflow' is not one of numpy" in r.stderr


# --- a framework that is not installed -----------------------------------------------------

@pytest.mark.parametrize(("module", "extra"), [("torch", "torch"), ("jax", "jax")])
def test_model_file_importing_a_missing_framework_names_the_extra(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    path = write(tmp_path, "model.py", f"""
        import {module}
        def f(x):
            return x
    """)
    r = cli("equivariance", path, "--in", "n d", "--out", "n d", "--group", "S(n)",
            "--size", "n=3,d=2")
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        f"symcheck: error: model {str(path)!r} needs {module}, which is not installed; "
        f"install it with: pip install 'symcheck[{extra}]' (from a source checkout: "
        f"pip install '.[{extra}]')"
    )


@pytest.mark.parametrize(("backend", "extra"), [("torch", "torch"), ("jax", "jax")])
def test_explicit_backend_without_its_framework(monkeypatch: pytest.MonkeyPatch, backend: str,
                                                extra: str) -> None:
    monkeypatch.setitem(sys.modules, backend, None)
    with pytest.raises(MissingExtraError, match=rf"pip install 'symcheck\[{extra}\]'"):
        adapt(lambda x: x, "float64", backend=backend)
