"""The checker itself: exact passes, negative controls, noise floor, NaN, replays, API."""

from __future__ import annotations

import re

import numpy as np
import pytest

import symcheck
from symcheck.api import (
    EquivarianceError,
    assert_equivariant,
    check_equivariance,
    dtype_summary,
)
from symcheck.core.errors import ModelError, SpecError
from symcheck.sources.python import load_python
from tests.conftest import SAMPLES


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(x: np.ndarray) -> np.ndarray:
    return softmax(x @ x.T) @ x


SIZES = {"n": 6, "d": 4}


def verdicts(result: symcheck.EquivarianceResult) -> dict[str, str]:
    return {g.measurement.name: g.verdict for g in result.groups}


def test_identity_passes_every_group_exactly() -> None:
    r = check_equivariance(lambda x: x, "n d", "n d", ["O(d)", "SO(d)", "S(n)", "C(n)"], SIZES)
    assert r.passed
    for g in r.groups:
        assert g.measurement.stat(100) < 1e-15
        assert g.measurement.noise_floor == 0.0


def test_attention_passes_and_errors_are_round_off() -> None:
    r = check_equivariance(attention, "n d", "n d", ["O(d)", "S(n)"], SIZES, trials=10)
    assert verdicts(r) == {"O(d)": "pass", "S(n)": "pass", "O(d) × S(n)": "pass"}
    assert max(g.measurement.stat(100) for g in r.groups) < 1e-13


def test_positional_encoding_is_caught() -> None:
    pos = np.random.default_rng(0).standard_normal((6, 4))
    r = check_equivariance(lambda x: attention(x + pos), "n d", "n d", ["S(n)"], SIZES)
    assert verdicts(r) == {"S(n)": "fail"}
    assert r.groups[0].measurement.stat(100) > 1e-2


def test_fixed_weights_break_o_but_not_s() -> None:
    w = np.random.default_rng(1).standard_normal((4, 4))
    r = check_equivariance(lambda x: softmax(x @ w @ x.T) @ x, "n d", "n d",
                           ["O(d)", "S(n)"], SIZES)
    assert verdicts(r) == {"O(d)": "fail", "S(n)": "pass", "O(d) × S(n)": "fail"}


@pytest.mark.parametrize("seed", range(8))
def test_chiral_model_fails_o_on_every_seed_even_with_one_trial(seed: int) -> None:
    """A reflection probe always runs: failing O(d) is not left to the luck of det −1."""
    model = load_python(str(SAMPLES / "chiral.py")).obj
    r = check_equivariance(model, trials=1, seed=seed)
    v = verdicts(r)
    assert v["SO(d)"] == "pass"
    assert v["O(d)"] == "fail"
    probes = [c for c in r.groups[1].measurement.cases if c.case.startswith("probe:")]
    assert any(c.error > 0.1 for c in probes)


def test_transposition_probe_catches_a_bug_random_permutations_rarely_hit() -> None:
    """Breaks S(n) only when tokens 0 and 1 swap with everything else fixed."""
    def f(x: np.ndarray) -> np.ndarray:
        y = x.copy()
        y[0] += 1e-3 * (x[0] - x[1]) * float(np.allclose(x[2:], x[2:]))
        return y

    n = 40
    r = check_equivariance(f, "n d", "n d", "S(n)", {"n": n, "d": 3}, trials=5)
    cases = {c.case: c.error for c in r.groups[0].measurement.cases}
    assert not r.passed
    assert cases["probe:transposition-01"] > 1e-6


def test_cyclic_shift_invariance_versus_full_permutations() -> None:
    def circular_conv(x: np.ndarray) -> np.ndarray:
        return x + 0.5 * np.roll(x, 1, axis=0)

    r = check_equivariance(circular_conv, "n d", "n d", ["C(n)", "S(n)"], {"n": 7, "d": 2})
    assert verdicts(r)["C(n)"] == "pass"
    assert verdicts(r)["S(n)"] == "fail"


def test_invariance_output_without_acted_label() -> None:
    r = check_equivariance(lambda x: np.array([np.sum(x * x)]), "n d", "f", ["O(d)", "S(n)"],
                           SIZES)
    assert r.passed
    r = check_equivariance(lambda x: x.sum(axis=0), "n d", "d", ["O(d)", "S(n)"], SIZES)
    assert r.passed  # sum over tokens: O(d)-equivariant, S(n)-invariant


def test_tuple_outputs_and_square_specs() -> None:
    def f(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = softmax(x @ x.T)
        return a @ x, a

    r = check_equivariance(f, "n d", ["n d", "n n"], ["O(d)", "S(n)"], SIZES)
    assert r.passed


def test_nan_output_is_its_own_failure() -> None:
    r = check_equivariance(lambda x: np.full_like(x, np.nan), "n d", "n d", "S(n)", SIZES)
    assert r.groups[0].verdict == "non-finite"
    assert not r.passed


def test_a_model_not_reproducible_at_the_tolerance_cannot_be_judged() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ModelError, match="the model is not deterministic: f\\(x\\) computed "
                                         "twice on the same input differs by"):
        check_equivariance(lambda x: x + 1e-6 * rng.standard_normal(x.shape), "n d", "n d",
                           "S(n)", SIZES)


def test_noise_floor_near_the_tolerance_is_a_warning() -> None:
    rng = np.random.default_rng(0)
    r = check_equivariance(lambda x: x + 2e-10 * rng.standard_normal(x.shape), "n d", "n d",
                           "S(n)", SIZES)
    assert 1e-10 < r.groups[0].measurement.noise_floor <= 1e-9
    assert r.warnings and "noise floor" in r.warnings[0]


def test_same_seed_same_numbers_and_case_replay() -> None:
    w = np.random.default_rng(1).standard_normal((4, 4))

    def f(x: np.ndarray) -> np.ndarray:
        return softmax(x @ w @ x.T) @ x

    a = check_equivariance(f, "n d", "n d", ["O(d)"], SIZES, seed=11)
    b = check_equivariance(f, "n d", "n d", ["O(d)"], SIZES, seed=11)
    def numbers(r: symcheck.EquivarianceResult) -> list[object]:
        return [g.to_dict()["cases"] for g in r.groups]

    assert numbers(a) == numbers(b)
    worst = a.groups[0].measurement.worst
    replay = check_equivariance(f, "n d", "n d", ["O(d)"], SIZES, seed=11,
                                case=f"O(d)/{worst.case}")
    assert len(replay.groups[0].measurement.cases) == 1
    assert replay.groups[0].measurement.cases[0].error == worst.error
    c = check_equivariance(f, "n d", "n d", ["O(d)"], SIZES, seed=12)
    assert c.groups[0].measurement.stat(100) != worst.error


def test_dtype_float32_uses_its_tolerance() -> None:
    r = check_equivariance(attention, "n d", "n d", ["O(d)"], SIZES, dtype="float32")
    cal = r.calibration
    assert cal is not None and cal.source == "calibrated" and cal.rho is not None
    assert 1e-9 < cal.rho < 1e-5  # float32 round-off of a small attention, against float64
    assert r.tolerance == max(3 * cal.rho, 1e-6)
    assert r.passed
    assert r.groups[0].measurement.stat(100) > 1e-12  # really computed in float32


def test_an_explicit_size_must_agree_with_fixed_inputs() -> None:
    x = np.random.default_rng(3).standard_normal((5, 3))
    with pytest.raises(SpecError, match="sizes: n=4, but a fixed input"):
        check_equivariance(attention, "n d", "n d", "O(d)", {"n": 4}, data=[x])

    @symcheck.equivariant(inputs="n d", output="n d", groups="S(n)", sizes={"n": 8, "d": 3})
    def declared(x: np.ndarray) -> np.ndarray:
        return x

    # a declared default is only a default: real inputs of another length replace it
    assert check_equivariance(declared, data=[x], trials=2).sizes == {"n": 5, "d": 3}


def test_fixed_inputs_are_used() -> None:
    x = np.random.default_rng(3).standard_normal((5, 3))
    r = check_equivariance(attention, "n d", "n d", "O(d)", data=[x], trials=4)
    assert r.sizes == {"n": 5, "d": 3}
    assert r.passed


def test_assert_equivariant_message() -> None:
    pos = np.random.default_rng(0).standard_normal((6, 4))
    with pytest.raises(EquivarianceError) as info:
        assert_equivariant(lambda x: attention(x + pos), "n d", "n d", "S(n)", SIZES, seed=3)
    message = str(info.value)
    assert "S(n): worst case" in message
    assert "Mismatched elements: " in message and "Greatest absolute difference: " in message
    assert "at index (" in message and "of output 0" in message
    assert "Relative error (norm-wise, ‖f(g·x) − g·f(x)‖ / ‖f(x)‖): " in message
    assert "> tolerance 1.0e-09" in message and "Greatest relative difference" not in message
    assert "seed=3" in message and "case='S(n)/" in message
    assert assert_equivariant(attention, "n d", "n d", "S(n)", SIZES).passed


def test_assert_equivariant_at_dtypes_reports_every_dtype() -> None:
    results = assert_equivariant(attention, "n d", "n d", "S(n)", SIZES,
                                 dtypes=("float64", "float32"), trials=3)
    assert [(r.dtype, r.passed) for r in results] == [("float64", True), ("float32", True)]
    assert dtype_summary(results[0]).startswith(
        "float64: pass (worst relative error ")
    assert dtype_summary(results[0]).endswith(" ≤ tolerance 1.0e-09 in S(n))")
    pos = np.random.default_rng(0).standard_normal((6, 4))
    with pytest.raises(EquivarianceError) as info:
        assert_equivariant(lambda x: attention(x + pos), "n d", "n d", "S(n)", SIZES,
                           dtypes=("float32", "float64"), trials=3)
    first = str(info.value).splitlines()[:3]
    assert first[0] == "<lambda> fails at float32, float64 (2 of 2 dtypes, each against its " \
        "own tolerance):"
    assert first[1].startswith("  float32: fail (worst relative error ")
    assert first[1].endswith(" > tolerance 1.0e-06 in S(n))")
    assert [r.dtype for r in info.value.results] == ["float32", "float64"]
    assert info.value.result.dtype == "float32"


@pytest.mark.parametrize(("dtypes", "extra", "message"), [
    ("float32", {}, "dtypes: 'float32' must be a sequence of distinct dtypes such as "
                    "('float64', 'float32')"),
    ((), {}, "dtypes: () must be a sequence of distinct dtypes"),
    (("float32", "float32"), {}, "dtypes: ('float32', 'float32') must be a sequence of "
                                 "distinct dtypes"),
    (("float64", "float8"), {}, "dtypes: 'float8' is not one of float64, float32, bfloat16, "
                                "float16"),
    (("float64",), {"dtype": "float32"}, "dtypes: dtype='float32' and dtypes=('float64',) are "
                                         "both given; give one"),
])
def test_bad_dtypes_are_refused_before_any_check(dtypes: object, extra: dict[str, str],
                                                 message: str) -> None:
    with pytest.raises(SpecError) as info:
        assert_equivariant(attention, "n d", "n d", "S(n)", SIZES, dtypes=dtypes,  # type: ignore[call-overload]
                           **extra)
    assert str(info.value).startswith(message)


def test_decorator_supplies_defaults_and_arguments_override() -> None:
    @symcheck.equivariant(inputs="n d", output="n d", groups=["S(n)"], sizes={"n": 4, "d": 2})
    def f(x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    r = check_equivariance(f)
    assert r.sizes == {"n": 4, "d": 2} and r.trials == 20
    r = check_equivariance(f, sizes={"n": 9}, trials=3)
    assert r.sizes == {"n": 9, "d": 2} and r.trials == 3


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"groups": "O(k)"}, SpecError, "appears in no spec"),
        ({"groups": "Q(d)"}, SpecError, "unknown group"),
        ({"sizes": {"n": 3}}, SpecError, "no size for 'd'"),
        ({"inputs": "n d e"}, SpecError, "no size for 'e'"),
        ({"output": "n"}, ModelError, "expects"),
    ],
)
def test_bad_calls(kwargs: dict[str, object], exc: type[Exception], message: str) -> None:
    args: dict[str, object] = {"inputs": "n d", "output": "n d", "groups": "S(n)", "sizes": SIZES}
    args.update(kwargs)
    with pytest.raises(exc, match=message):
        check_equivariance(attention, **args)  # type: ignore[arg-type]


def test_model_that_raises_is_an_input_error() -> None:
    def broken(x: np.ndarray) -> np.ndarray:
        raise ValueError("boom")

    with pytest.raises(ModelError, match="raised ValueError: boom"):
        check_equivariance(broken, "n d", "n d", "S(n)", SIZES)


def test_silent_upcast_under_a_lower_dtype_is_reported() -> None:
    w = np.eye(4)  # float64 weights promote float32 inputs

    r = check_equivariance(lambda x: x @ w, "n d", "n d", "S(n)", SIZES, dtype="float32")
    assert any("returned float64" in msg for msg in r.warnings)
    r = check_equivariance(lambda x: x @ w.astype(x.dtype), "n d", "n d", "S(n)", SIZES,
                           dtype="float32")
    assert not r.warnings


E = r"\d\.\d\de[+-]\d\d"  # a number as the reprs print it (digits not compared)


def test_results_have_a_name_and_a_one_line_repr() -> None:
    pos = np.random.default_rng(0).standard_normal((6, 4))

    def shifted(x: np.ndarray) -> np.ndarray:
        return attention(x + pos)

    r = check_equivariance(shifted, "n d", "n d", ["O(d)", "S(n)"], SIZES, trials=3)
    assert r.name == "shifted" and [g.name for g in r.groups] == ["O(d)", "S(n)", "O(d) × S(n)"]
    cases = sum(len(g.measurement.cases) for g in r.groups)
    assert re.fullmatch(rf"<EquivarianceResult 'shifted': fail, max error {E}, tolerance "
                        rf"1\.0e-09, 3 group checks, {cases} cases, float64, seed 0>", repr(r))
    assert str(r) == repr(r)  # print(result) is the one line too
    product = r.groups[-1]
    assert re.fullmatch(rf"<GroupResult 'O\(d\) × S\(n\)': fail, max error {E}, tolerance "
                        rf"1\.0e-09, {len(product.measurement.cases)} cases>", repr(product))
    assert re.fullmatch(rf"<GroupMeasurement 'O\(d\)': max error {E}, \d+ cases>",
                        repr(r.groups[0].measurement))
    form = symcheck.check_form(attention, "n d", "n d", "O(d)", SIZES)
    assert form.name == "attention"
    assert repr(form) == (f"<FormResult 'attention': pass, no gating diagnostic fails, "
                          f"{len(form.diagnostics)} diagnostics, float64, seed 0>")


def test_the_rule_of_three_counts_only_the_haar_draws_at_the_declared_sizes() -> None:
    """Size probes draw Haar elements of other groups (S(1) is the identity alone): the PASS
    line's bound counts the declared group's draws, ``trials`` of them, and no more."""
    from symcheck.api import check_equivariance

    def attention(x: np.ndarray) -> np.ndarray:
        s = x @ x.T
        w = np.exp(s - s.max(1, keepdims=True))
        return (w / w.sum(1, keepdims=True)) @ x

    r = check_equivariance(attention, "n d", "n d", ["S(n)", "O(d)"], {"n": 5, "d": 3},
                           trials=7)
    assert any(c.case_id.size is not None for g in r.groups for c in g.measurement.cases)
    assert [g.measurement.random_cases for g in r.groups] == [7, 7, 7]
