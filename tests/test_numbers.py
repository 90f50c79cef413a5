"""Every number is checked for type and range where it enters, in every door (issue: bad
input, third round, point 2): the decorator, the Python API, the command line, the
configuration file, a checkpoint's config.json; and what no machine can hold is refused
before the work by the memory guard, as that check's error in a gate."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import symcheck
from symcheck.core.errors import SpecError
from tests.conftest import CliResult

ROOT = Path(__file__).resolve().parents[1]

BAD_DECLARATIONS = [
    ({"rtol": float("nan")}, "rtol: nan must be a finite number greater than 0"),
    ({"rtol": float("inf")}, "rtol: inf must be a finite number greater than 0"),
    ({"rtol": -1e-6}, "rtol: -1e-06 must be a finite number greater than 0"),
    ({"rtol": "1e-6"}, "rtol: '1e-6' must be a finite number greater than 0"),
    ({"trials": 0}, "trials: 0 must be at least 1"),
    ({"trials": 1.5}, "trials: 1.5 must be an integer ≥ 1"),
    ({"trials": True}, "trials: True must be an integer ≥ 1"),
    ({"sizes": {"n": 4, "d": "x"}}, "sizes: d='x': sizes must be integers"),
    ({"sizes": {"n": 4, "d": 2.5}}, "sizes: d=2.5: sizes must be integers"),
    ({"sizes": {"n": 4, "d": True}}, "sizes: d=True: sizes must be integers"),
    ({"sizes": {"n": 4, "d": 0}}, "sizes: d=0: sizes must be at least 1"),
    ({"sizes": {"n": 4, 3: 2}}, "sizes: 3 is not a label"),
    ({"sizes": "n=4"}, "sizes: 'n=4' is not a mapping of labels to sizes"),
]


def _declare(**extra: Any) -> Any:
    keywords: dict[str, Any] = {"sizes": {"n": 4, "d": 3}, **extra}
    return symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], **keywords)


@pytest.mark.parametrize(("extra", "message"), BAD_DECLARATIONS)
def test_the_decorator_checks_its_numbers(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as info:
        _declare(**extra)
    assert str(info.value) == f"@symcheck.equivariant: {message}" or message in str(info.value)


@pytest.mark.parametrize(("extra", "message"), BAD_DECLARATIONS[:1] + BAD_DECLARATIONS[7:8])
def test_a_model_file_with_a_bad_declaration_is_exit_2(cli: Any, tmp_path: Path,
                                                       extra: dict[str, Any],
                                                       message: str) -> None:
    model = tmp_path / "m.py"
    model.write_text(textwrap.dedent(f"""\
        import symcheck

        @symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"],
                              **{{**{{"sizes": {{"n": 4, "d": 3}}}}, **{extra!r}}})
        def f(x):
            return x[::-1]  # broken: a NaN rtol must not let it pass
        """).replace("nan", "float('nan')"))
    r: CliResult = cli("equivariance", str(model))
    assert r.exit_code == 2
    assert r.stderr.strip() == f"symcheck: error: @symcheck.equivariant: {message}"


@pytest.mark.parametrize(("sizes", "message"), [
    ({"n": 3, "d": "x"}, "sizes: d='x': sizes must be integers"),
    ({"n": 3, "d": 2.5}, "sizes: d=2.5: sizes must be integers"),
    ({"n": 3, "d": np.bool_(True)}, "sizes: d="),  # numpy's repr: True or np.True_
    ({"n": 3, "d": 10**20}, "sizes: one case of the check needs"),
])
def test_the_api_checks_sizes(sizes: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as info:
        symcheck.check_equivariance(lambda x: x, inputs=["n d"], output="n d",
                                    groups=["S(n)"], sizes=sizes)
    assert str(info.value).startswith(message)
    assert "must be integers" in str(info.value) or "needs" in str(info.value)


def test_numpy_integers_are_sizes() -> None:
    result = symcheck.check_equivariance(lambda x: x, inputs=["n d"], output="n d",
                                         groups=["S(n)"], sizes={"n": np.int64(3), "d": 2})
    assert result.passed


@pytest.mark.parametrize(("args", "flag"), [
    (("--in", "n d", "--out", "n d", "--group", "S(n)", "--size",
      "n=3,d=99999999999999999999"), "--size"),
    (("--in", "n c:irreps(1000000x0e)", "--out", "n c:irreps(1000000x0e)", "--group", "O(c)",
      "--size", "n=3,c=3"), "--in/--out"),
    (("--in", "n c:irreps(99999999999999999999x0e)", "--out", "n c:irreps(1x0e)",
      "--group", "O(c)", "--size", "n=3,c=3"), "--in/--out"),
])
def test_what_no_machine_holds_is_refused_before_the_work(cli: Any, tmp_path: Path,
                                                          args: tuple[str, ...],
                                                          flag: str) -> None:
    (tmp_path / "m.py").write_text("def f(x):\n    return x\n")
    r = cli("equivariance", str(tmp_path / "m.py"), *args)
    assert r.exit_code == 2
    assert r.stderr.startswith(f"symcheck: error: {flag}: one case of the check needs ")
    assert len(r.stderr.strip().splitlines()) == 1


def test_one_check_too_large_is_that_checks_error(cli: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.py").write_text("def f(x):\n    return x\n")
    check = ('[[tool.symcheck.check]]\nname = "{name}"\nmodel = "m.py:f"\ninputs = "n d"\n'
             'output = "n d"\ngroups = "S(n)"\nsizes = {{ n = 3, d = {d} }}\n')
    (tmp_path / "pyproject.toml").write_text(
        check.format(name="big", d="99999999999999999999") + check.format(name="ok", d=2))
    monkeypatch.chdir(tmp_path)
    r = cli("check", "--json", "r.json")
    assert r.exit_code == 1
    doc = json.loads((tmp_path / "r.json").read_text())
    verdicts = {c["name"]: c["verdict"] for c in doc["checks"]}
    assert verdicts == {"big": "error", "ok": "pass"}


def test_an_internal_error_in_one_check_does_not_end_the_gate(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from symcheck.app import checks

    (tmp_path / "m.py").write_text("def f(x):\n    return x\n")
    check = ('[[tool.symcheck.check]]\nname = "{name}"\nmodel = "m.py:f"\ninputs = "n d"\n'
             'output = "n d"\ngroups = "S(n)"\nsizes = {{ n = 3, d = 2 }}\n')
    (tmp_path / "pyproject.toml").write_text(check.format(name="a") + check.format(name="b"))
    monkeypatch.chdir(tmp_path)
    real = checks.BUILDERS["model"]
    calls: list[str] = []

    def flaky(spec: Any) -> Any:
        calls.append(spec.name)
        if spec.name == "a":
            raise ValueError("a bug")
        return real(spec)

    monkeypatch.setitem(checks.BUILDERS, "model", flaky)
    r = cli("check")
    assert r.exit_code == 1 and calls == ["a", "b"]
    assert "internal error: ValueError: a bug" in r.output


@pytest.mark.parametrize(("change", "message"), [
    ({"rms_norm_eps": 10**400}, "rms_norm_eps 1000"),
    ({"rope_parameters": {"rope_theta": 10**400, "rope_type": "default"}}, "rope_theta 1000"),
])
def test_a_checkpoint_config_holds_numbers_a_float_can(cli: Any, tmp_path: Path,
                                                       change: dict[str, Any],
                                                       message: str) -> None:
    folder = tmp_path / "ck"
    shutil.copytree(ROOT / "samples" / "weights" / "llama", folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(change)
    (folder / "config.json").write_text(json.dumps(config))
    r = cli("equivariance", str(folder / "model.safetensors"))
    assert r.exit_code == 2 and message in r.stderr and "internal" not in r.stderr


def test_a_sliding_window_longer_than_any_sequence_hides_nothing() -> None:
    from symcheck.sources.weights.reference import self_attention

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 5, 8))
    p = {f"{k}.weight": rng.standard_normal((8, 8)) for k in "qkv"}
    plain = self_attention(x, p, 2, causal=True)
    assert np.allclose(self_attention(x, p, 2, causal=True, window=10**30), plain)
    assert not np.allclose(self_attention(x, p, 2, causal=True, window=2), plain)
