"""The kernel zoo: every row of the table of docs/form.md, asserted against a fresh measurement."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ROOT, sample_module

ROUND_OFF = 1e-13
MAKE_TABLE = sample_module("kernels/make_table.py")

P, F = True, False
#: target -> S(n), O(d) fixed W, O(d) W as knowledge, form fixed W, form W as knowledge
EXPECTED: dict[str, tuple[bool, bool, bool, bool, bool]] = {
    "exponential.py:symmetric": (P, F, P, F, P),
    "exponential.py:asymmetric": (P, F, P, F, P),
    "exponential.py:with_values": (P, F, P, F, P),
    "rbf.py:symmetric": (P, F, P, F, P),
    "rbf.py:asymmetric": (P, F, P, F, P),
    "polynomial.py:symmetric": (P, F, P, F, P),
    "polynomial.py:asymmetric": (P, F, P, F, P),
    "linear.py:symmetric": (P, F, P, F, P),
    "linear.py:asymmetric": (P, F, P, F, P),
    "positional.py:product_kernel": (F, F, P, F, F),
    "linear_attention.py:projected": (P, F, P, F, P),
    "linear_attention.py:embedding": (P, F, F, F, F),
    "controls.py:coordinate_mlp": (P, F, F, F, F),
    "controls.py:layernorm": (P, F, F, F, F),
    "controls.py:layernorm_block": (P, F, F, F, F),
    "controls.py:rmsnorm": (P, P, P, P, P),
    "controls.py:token_mlp": (P, F, P, F, P),
}
#: samples whose outputs leave span(X, K) when the weights are held fixed
OUT_OF_SPAN_FIXED = {"exponential.py:with_values", "controls.py:coordinate_mlp",
                     "controls.py:layernorm", "controls.py:layernorm_block",
                     "controls.py:token_mlp"}


@pytest.fixture(scope="module")
def rows() -> dict[str, Any]:
    return {r.target: r for r in MAKE_TABLE.measure_all()}


def test_every_sample_has_an_expected_row() -> None:
    targets = {f"{f}:{n}" for f, n, _ in MAKE_TABLE.SAMPLES}
    assert targets == set(EXPECTED)


@pytest.mark.parametrize("target", sorted(EXPECTED))
def test_row(rows: dict[str, Any], target: str) -> None:
    r = rows[target]
    got = (r.s_n, r.o_fixed, r.o_knowledge, r.form_fixed, r.form_knowledge)
    assert got == EXPECTED[target], r
    # The form with weights as knowledge holds exactly when O(d) with weights as knowledge
    # passes, S(n) aside (the product kernel fails the permutation rule, not the span).
    if r.o_knowledge:
        assert r.span_knowledge < ROUND_OFF and r.invariance_knowledge < ROUND_OFF, r
    else:
        assert r.invariance_knowledge > 1e-3, r  # non-equivariant: coefficients move with Q
    if not r.o_fixed:
        assert r.invariance_fixed > 1e-3, r
    out_of_span = r.span_fixed > 1e-3
    assert out_of_span == (target in OUT_OF_SPAN_FIXED), r


def test_equivariant_samples_have_unique_coefficients() -> None:
    """d ≥ n + m (weights included) for every sample, so the span residual is meaningful."""
    from symcheck.api import check_form

    for file, name, _ in MAKE_TABLE.SAMPLES:
        fn = MAKE_TABLE.load(file, name)
        r = check_form(fn, trials=2, fit=False)
        assert r.measurement.unique, (file, name, r.measurement.not_unique_reason)


def test_exponential_kernel_is_log_bilinear_and_the_others_are_not() -> None:
    from symcheck.api import check_form

    def r2(file: str, name: str) -> float:
        value = check_form(MAKE_TABLE.load(file, name), trials=4).diagnostic(
            "log_bilinear_r2").value
        assert value is not None
        return float(value)

    assert r2("exponential.py", "asymmetric") > 1 - 1e-10
    assert r2("rbf.py", "asymmetric") < 0.99
    assert r2("polynomial.py", "asymmetric") < 0.9


def test_readme_table_is_generated(rows: dict[str, Any]) -> None:
    readme = (ROOT / "docs" / "form.md").read_text(encoding="utf-8")
    table = MAKE_TABLE.render([rows[f"{f}:{n}"] for f, n, _ in MAKE_TABLE.SAMPLES])
    assert MAKE_TABLE.splice(readme, table) == readme, (
        "docs/form.md kernel table is stale: run python samples/kernels/make_table.py"
    )
