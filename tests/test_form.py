"""The attention-form diagnostics: exact recovery, negative controls, d < n + m, CLI."""

from __future__ import annotations

import doctest
import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symcheck.app.requests
import symcheck.engine.form
from symcheck.api import check_form
from symcheck.core.errors import SpecError
from symcheck.core.signature import Signature
from symcheck.engine.form import extract
from symcheck.engine.form_judge import hold_weights_fixed
from tests.conftest import SAMPLES, CliResult

KERNELS = SAMPLES / "kernels"
SIZES = {"n": 4, "m": 2, "d": 12}


def known_coefficients(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """A hand-built C(Gram), of both signs and not row-stochastic: not attention."""
    z = np.concatenate([x, k])
    g = x @ z.T
    norms = (z * z).sum(1)
    return np.tanh(g) + 0.1 * norms[None, :] - 0.05 * np.eye(len(x), len(z))


def hand_built(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    return known_coefficients(x, k) @ np.concatenate([x, k])


def softmax_over(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    z = np.concatenate([x, k])
    s = x @ z.T
    w = np.exp(s - s.max(1, keepdims=True))
    return (w / w.sum(1, keepdims=True)) @ z


_W = np.random.default_rng(7).standard_normal((12, 3)) / np.sqrt(12)


def with_weight(x: np.ndarray, k: np.ndarray, w: np.ndarray = _W) -> np.ndarray:
    z = np.concatenate([x, k])
    s = (x @ w) @ (z @ w).T
    e = np.exp(s - s.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)) @ z


def test_doctests() -> None:
    assert doctest.testmod(symcheck.engine.form).failed == 0


def test_extract_recovers_known_coefficients_exactly() -> None:
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((4, 12)), rng.standard_normal((2, 12))
    e = extract(hand_built(x, k), np.concatenate([x, k]))
    np.testing.assert_allclose(e.coefficients, known_coefficients(x, k), rtol=0, atol=1e-12)
    assert e.rank == 6 and e.residual < 1e-14


def test_hand_built_function_has_the_form_but_is_not_attention() -> None:
    r = check_form(hand_built, ["n d", "m d"], "n d", ["O(d)", "S(n)"], SIZES)
    assert r.passed and r.verdict == "pass" and r.measurement.unique
    for key in ("span_residual", "coefficient_invariance", "permutation_covariance"):
        d = r.diagnostic(key)
        assert d.status == "pass" and d.value is not None and d.value < 1e-12, d
    assert r.diagnostic("negative_coefficients").status == "fail"
    assert r.diagnostic("row_sums").status == "fail"
    assert (r.measurement.layout.n, r.measurement.layout.m) == (4, 2)


def test_softmax_attention_is_attention_like() -> None:
    r = check_form(softmax_over, ["n d", "m d"], "n d", ["O(d)", "S(n)"], SIZES)
    assert r.passed
    assert r.diagnostic("negative_coefficients").status == "pass"
    assert r.diagnostic("row_sums").status == "pass"
    fit = r.diagnostic("log_bilinear_r2")
    assert fit.status == "pass" and fit.value is not None and fit.value > 1 - 1e-10


def test_weight_as_knowledge_recovers_softmax_and_zero_weight_coefficients() -> None:
    r = check_form(with_weight, ["n d", "m d", "d k"], "n d", ["O(d)"], SIZES)
    assert r.passed and r.weight_inputs == (2,)
    assert r.measurement.layout.m == 2 + 3  # K, then the 3 columns of w
    rng = np.random.default_rng(1)
    x, k = rng.standard_normal((4, 12)), rng.standard_normal((2, 12))
    z = np.concatenate([x, k, _W.T])
    c = extract(with_weight(x, k), z).coefficients
    s = (x @ _W) @ (np.concatenate([x, k]) @ _W).T
    softmax = np.exp(s) / np.exp(s).sum(1, keepdims=True)
    np.testing.assert_allclose(c[:, :6], softmax, atol=1e-12)
    np.testing.assert_allclose(c[:, 6:], 0, atol=1e-12)


def test_weight_rows_or_columns_are_the_same_vectors() -> None:
    """A 'k d' weight contributes its rows, a 'd k' weight its columns: the same vectors."""

    def rows(x: np.ndarray, k: np.ndarray, wt: np.ndarray = _W.T.copy()) -> np.ndarray:
        return with_weight(x, k, wt.T)

    a = check_form(with_weight, ["n d", "m d", "d k"], "n d", ["O(d)"], SIZES, trials=3)
    b = check_form(rows, ["n d", "m d", "k d"], "n d", ["O(d)"], SIZES, trials=3)
    assert a.passed and b.passed
    assert a.measurement.layout.m == b.measurement.layout.m == 5
    for da, db in zip(a.diagnostics, b.diagnostics, strict=True):
        assert da.status == db.status
        if da.value is not None and db.value is not None:
            assert da.value == pytest.approx(db.value, rel=1e-6, abs=1e-13), da.key


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 5), m=st.integers(0, 3), extra=st.integers(0, 4),
       seed=st.integers(0, 2**32 - 1))
def test_extract_recovers_any_coefficients_when_d_covers_n_plus_m(
    n: int, m: int, extra: int, seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    d = n + m + extra
    z = rng.standard_normal((n + m, d))
    c = rng.standard_normal((n, n + m))
    e = extract(c @ z, z)
    assert e.rank == n + m
    np.testing.assert_allclose(e.coefficients, c, atol=1e-9 * max(1.0, e.cond))


def test_fixed_weights_give_non_invariant_coefficients() -> None:
    r = check_form(with_weight, ["n d", "m d", "d k"], "n d", ["O(d)", "S(n)"], SIZES,
                   weights="fixed")
    assert not r.passed and r.verdict == "fail"
    inv = r.diagnostic("coefficient_invariance")
    assert inv.status == "fail" and inv.value is not None and inv.value > 1e-2
    assert r.diagnostic("span_residual").status == "pass"  # still in span of [X; K]
    assert r.diagnostic("permutation_covariance").status == "pass"
    assert str(r.inputs[2]) == "d_fixed k" and r.measurement.layout.invariant_inputs == (2,)


def test_coordinatewise_function_leaves_the_span() -> None:
    r = check_form(np.tanh, "n d", "n d", ["O(d)", "S(n)"], {"n": 3, "d": 8})
    assert not r.passed
    assert r.diagnostic("span_residual").status == "fail"
    assert r.measurement.layout.m == 0


def test_positions_break_permutation_covariance_only() -> None:
    def positional(x: np.ndarray) -> np.ndarray:
        s = x @ x.T + 0.3 * np.arange(len(x))[None, :]  # a bias by key position
        w = np.exp(s - s.max(1, keepdims=True))
        return (w / w.sum(1, keepdims=True)) @ x

    r = check_form(positional, "n d", "n d", ["O(d)", "S(n)"], {"n": 4, "d": 8})
    assert r.diagnostic("coefficient_invariance").status == "pass"
    assert r.diagnostic("permutation_covariance").status == "fail"
    assert not r.passed


def test_d_below_n_plus_m_says_not_unique_and_keeps_what_is_valid() -> None:
    r = check_form(softmax_over, ["n d", "m d"], "n d", ["O(d)", "S(n)"],
                   {"n": 4, "m": 3, "d": 5})
    m = r.measurement
    assert not m.unique and m.not_unique_reason is not None and "d = 5 < n + m = 7" in (
        m.not_unique_reason)
    assert r.passed  # an equivariant f: min-norm coefficients are still invariant/covariant
    assert r.diagnostic("coefficient_invariance").note == "minimum-norm coefficients (not unique)"
    for key in ("negative_coefficients", "row_sums", "log_bilinear_r2"):
        assert r.diagnostic(key).status == "skipped"
    broken = check_form(lambda x, k: softmax_over(np.tanh(x), k), ["n d", "m d"], "n d",
                        ["O(d)"], {"n": 4, "m": 3, "d": 5})
    assert not broken.passed
    assert broken.diagnostic("coefficient_invariance").status == "fail"


def test_duplicate_weight_makes_coefficients_not_unique() -> None:
    def twice(x: np.ndarray, w1: np.ndarray = _W, w2: np.ndarray = _W) -> np.ndarray:
        return with_weight(x, x[:0], w1)

    r = check_form(twice, ["n d", "d k", "d k"], "n d", ["O(d)"], {"n": 3})
    assert not r.measurement.unique
    assert "rank Z" in (r.measurement.not_unique_reason or "")


def test_float32_uses_its_own_tolerance_and_zero_floor() -> None:
    r = check_form(with_weight, ["n d", "m d", "d k"], "n d", ["O(d)"], SIZES, dtype="float32")
    assert r.passed and r.tolerance == 1e-3
    inv = r.diagnostic("coefficient_invariance").value
    assert inv is not None and 1e-12 < inv < 1e-4  # float32 round-off, not float64's
    # the zero coefficients of the weight vectors are float32 noise, not negative weights
    assert r.diagnostic("negative_coefficients").value == 0.0


def test_nan_output_is_non_finite() -> None:
    r = check_form(lambda x: x * np.nan, "n d", "n d", "O(d)", {"n": 2, "d": 4})
    assert r.verdict == "non-finite" and not r.passed


def test_seeded_and_reproducible() -> None:
    a = check_form(hand_built, ["n d", "m d"], "n d", ["O(d)"], SIZES, seed=3, trials=4)
    b = check_form(hand_built, ["n d", "m d"], "n d", ["O(d)"], SIZES, seed=3, trials=4)
    assert a.to_dict()["diagnostics"] == b.to_dict()["diagnostics"]


@pytest.mark.parametrize(
    ("inputs", "output", "sizes", "message"),
    [
        (["n d", "d d"], "n d", {"n": 3, "d": 4}, "is not a set of vectors"),
        (["n d"], "n", {"n": 3, "d": 4}, "has no embedding axis"),
        (["n d"], ["n d", "n d"], {"n": 3, "d": 4}, "form reads one output"),
        (["n e"], "n e", {"n": 3, "e": 4}, "no spec has the embedding label 'd'"),
    ],
)
def test_bad_specs(inputs: list[str], output: str | list[str], sizes: dict[str, int],
                   message: str) -> None:
    with pytest.raises(SpecError, match=message):
        check_form(lambda *a: a[0], inputs, output, ["S(n)"], sizes)


def test_bad_weights_mode_and_rtol() -> None:
    with pytest.raises(SpecError, match=r"^weights: "):
        check_form(np.tanh, "n d", "n d", "O(d)", {"n": 2, "d": 4}, weights="frozen")
    with pytest.raises(SpecError, match=r"^rtol: "):
        check_form(np.tanh, "n d", "n d", "O(d)", {"n": 2, "d": 4}, rtol=-1.0)


def test_weight_modes_are_one_definition_shared_with_saved_weights() -> None:
    import symcheck.core.signature
    import symcheck.sources.weights.check

    modes = symcheck.core.signature.WEIGHT_MODES
    assert symcheck.app.requests.WEIGHT_MODES is modes
    assert symcheck.sources.weights.check.MODES is modes
    assert set(symcheck.core.signature.WEIGHT_MODE_NAMES) == set(modes)
    with pytest.raises(SpecError, match="not one of cotransform, fixed"):
        check_form(np.tanh, "n d", "n d", "O(d)", {"n": 2, "d": 4}, weights="frozen")


def test_hold_weights_fixed_relabels_only_weights() -> None:
    s = Signature.parse(inputs=("n d", "m d", "d k"), outputs=("n d",), groups=("O(d)",))
    assert [str(spec) for spec in hold_weights_fixed(s, [2], "d").inputs] == [
        "n d", "m d", "d_fixed k"]


# --------------------------------------------------------------------------- CLI


def test_cli_help(cli: Callable[..., CliResult]) -> None:
    r = cli("form", "--help")
    assert r.exit_code == 0
    for option in ("--in", "--out", "--group", "--size", "--weights", "--rtol", "--json"):
        assert option in r.stdout


def test_cli_holds_and_states_the_theorem(cli: Callable[..., CliResult]) -> None:
    r = cli("form", f"{KERNELS / 'exponential.py'}:asymmetric")
    assert r.exit_code == 0, r.output
    assert "theorem (Ma & Ying 2022)" in r.stdout
    assert "span residual" in r.stdout and "HOLDS" in r.stdout
    assert "coefficients unique" in r.stdout and "seed 0" in r.stdout


def test_cli_fixed_weights_fail(cli: Callable[..., CliResult]) -> None:
    r = cli("form", f"{KERNELS / 'exponential.py'}:asymmetric", "--weights", "fixed")
    assert r.exit_code == 1, r.output
    assert "FAILS" in r.stdout and "invariance" in r.stdout


def test_cli_not_unique_is_said(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    model = tmp_path / "m.py"
    model.write_text(
        "import numpy as np\n"
        "def f(x, k):\n"
        "    z = np.concatenate([x, k]); s = x @ z.T\n"
        "    w = np.exp(s - s.max(1, keepdims=True))\n"
        "    return (w / w.sum(1, keepdims=True)) @ z\n"
    )
    r = cli("form", model, "--in", "n d", "--in", "m d", "--out", "n d", "-g", "O(d)",
            "--size", "n=4,m=3,d=5")
    assert r.exit_code == 0, r.output
    assert "NOT unique" in r.stdout and "skipped" in r.stdout


def test_cli_runs_a_torch_module(cli: Callable[..., CliResult]) -> None:
    pytest.importorskip("torch")
    r = cli("form", SAMPLES / "torch_model.py", "--trials", "3", "--backend", "torch")
    # fixed learned projections: out of span(X) and coefficients that turn with Q
    assert r.exit_code == 1, r.output
    assert "FAILS" in r.stdout and "span residual" in r.stdout


def test_cli_json_equals_api(cli: Callable[..., CliResult]) -> None:
    r = cli("form", f"{KERNELS / 'controls.py'}:layernorm", "--json", "-", "--seed", "2",
            "--trials", "5")
    assert r.exit_code == 1, r.output
    payload = json.loads(r.stdout)
    assert "theorem" in r.stderr  # the table goes to stderr when JSON takes stdout
    from symcheck.sources.python import load_python

    api = check_form(load_python(f"{KERNELS / 'controls.py'}:layernorm").obj, seed=2, trials=5)
    assert payload["verdict"] == api.verdict == "fail"
    assert [d["value"] for d in payload["diagnostics"]] == [
        d.value for d in api.diagnostics]
    assert payload["seed"] == 2 and payload["tolerance"] == 1e-8
    assert payload["theorem"].startswith("theorem (Ma & Ying 2022)")
    assert payload["layout"]["n"] == 4 and payload["weight_inputs"] == [1, 2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py"], "does not exist"),
        (["layer.safetensors"], "is not a Python file"),
        ([f"{KERNELS / 'exponential.py'}:asymmetric", "--weights", "frozen"], "--weights"),
        ([f"{KERNELS / 'exponential.py'}:asymmetric", "--backend", "cuda"], "--backend"),
        ([f"{KERNELS / 'exponential.py'}:asymmetric", "--rtol", "0"], "--rtol"),
        ([f"{KERNELS / 'controls.py'}:rmsnorm", "--in", "n d", "--in", "d d"],
         "not a set of vectors"),
        ([f"{KERNELS / 'exponential.py'}:asymmetric", "--trials", "0"], "--trials"),
    ],
)
def test_cli_bad_input_exits_2(cli: Callable[..., CliResult], args: list[str],
                               message: str) -> None:
    r = cli("form", *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and r.stderr.count("\n") == 1


def _readme_section() -> str:
    """The page of docs/ on ``symcheck form``, where its commands are shown."""
    return (SAMPLES.parent / "docs" / "form.md").read_text(encoding="utf-8")


def test_readme_commands_exit_as_stated(cli: Callable[..., CliResult],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SAMPLES.parent)
    block = _readme_section().split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("symcheck form")]
    assert len(lines) >= 3
    for line in lines:
        command, _, comment = line.partition("#")
        expected = int(comment.split("exit", 1)[1].split()[0].rstrip(":,"))
        r = cli(*shlex.split(command)[1:])
        assert r.exit_code == expected, (line, r.output)


def test_readme_example_report_is_what_symcheck_prints(cli: Callable[..., CliResult],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SAMPLES.parent)
    section = _readme_section()
    block = section.split("```\n$ ", 1)[1].split("```", 1)[0]
    command, *quoted = block.splitlines()
    r = cli(*shlex.split(command)[1:])
    printed = r.stdout.splitlines()
    # round-off values (…e-15, …e-16) depend on the BLAS build; every other line is exact
    for line in quoted:
        if not re.search(r"\de-1\d", line):
            assert line in printed, line
