"""The precision metric (ratio error ε₁, leakage ε₂) against hand-computed and brute-force cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from symcheck.sparse import (
    Targets,
    jl_params,
    logit_target,
    measure_factors,
    measure_params,
    target_from_array,
)


def _brute_force(a: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """The definition, literally: softmax, then every pair of entries of each row."""
    m = np.exp(z - z.max(axis=1, keepdims=True))
    m /= m.sum(axis=1, keepdims=True)
    eps1 = eps2 = 0.0
    for i in range(a.shape[0]):
        on = np.flatnonzero(a[i] > 0)
        off = np.flatnonzero(a[i] == 0)
        for j in on:
            for k in on:
                dev = abs(math.log(m[i, j] / m[i, k]) - math.log(a[i, j] / a[i, k]))
                eps1 = max(eps1, dev)
            for k in off:
                eps2 = max(eps2, m[i, k] / m[i, j])
    return eps1, eps2


A3 = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
Z3 = np.array(
    [
        [math.log(2) + 0.05, 0.0, -3.0],  # ratio error 0.05, leakage e^-3
        [1.0, 0.0, 2.0],  # one support entry: ratio 0; leakage e^2
        [0.0, 5.0, 0.3],  # ratio error 0.3; leakage e^5 (the worst)
    ]
)


def test_hand_computed_case() -> None:
    p = measure_factors(A3, Z3, np.eye(3))
    assert p.eps1 == pytest.approx(0.3)
    assert p.worst_ratio_row == 2
    assert p.log_eps2 == pytest.approx(5.0)
    assert p.eps2 == pytest.approx(math.exp(5.0))
    assert p.worst_leak_row == 2


def test_full_row_has_no_leakage_and_log2_ratio() -> None:
    a = np.ones((2, 2))
    z = np.array([[0.0, math.log(2)], [0.0, 0.0]])
    p = measure_factors(a, z, np.eye(2))
    assert p.eps1 == pytest.approx(math.log(2))
    assert p.eps2 == 0.0
    assert p.log_eps2 == -math.inf


def test_meets_is_inclusive_and_checks_both() -> None:
    p = measure_factors(A3, Z3, np.eye(3))
    assert not p.meets(Targets(0.3, 0.5))
    z = Z3.copy()
    z[1] = [-1.0, 0.0, -1.0]
    z[2] = [0.0, -4.0, 0.05]
    p = measure_factors(A3, z, np.eye(3))
    assert p.eps1 == pytest.approx(0.05)
    assert p.log_eps2 == pytest.approx(-1.0)
    assert p.meets(Targets(0.05 + 1e-12, math.exp(-1.0) + 1e-12))
    assert not p.meets(Targets(0.04, 0.9))
    assert not p.meets(Targets(0.1, math.exp(-1.0) * 0.99))


@pytest.mark.parametrize("rows", [1, 2, 7, None])
def test_random_case_matches_definition_for_every_block_size(rows: int | None) -> None:
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 2.0, (9, 9)) * (rng.random((9, 9)) < 0.4)
    a[np.arange(9), rng.integers(0, 9, 9)] = 1.0  # every row has a nonzero
    q, k = rng.standard_normal((9, 3)), rng.standard_normal((9, 3))
    want1, want2 = _brute_force(a, q @ k.T)
    p = measure_factors(a, q, k, rows=rows)
    assert p.eps1 == pytest.approx(want1, rel=1e-10)
    assert p.eps2 == pytest.approx(want2, rel=1e-10)


def test_params_layout_equals_factors_and_no_underflow() -> None:
    rng = np.random.default_rng(4)
    u, v = rng.standard_normal((6, 2)) * 40, rng.standard_normal((6, 2)) * 40
    a = np.eye(6)
    x = np.hstack([u, v])
    w_q = np.vstack([np.eye(2), np.zeros((2, 2))])
    w_k = np.vstack([np.zeros((2, 2)), np.eye(2)])
    p1 = measure_params(a, x, w_q, w_k)
    p2 = measure_factors(a, u, v)
    assert p1.eps1 == p2.eps1
    assert p1.log_eps2 == pytest.approx(p2.log_eps2)
    # Logits of size ~1e3 would underflow a softmax; the log-space metric stays finite.
    assert math.isfinite(p1.log_eps2)


def test_logit_target_is_exact() -> None:
    """softmax(B) meets the precision with ratio error 0 and leakage ≤ ε₂·e^{-ε₁}."""
    t = target_from_array(A3)
    b, delta = logit_target(t, 0.1, 0.05)
    assert delta == pytest.approx(math.log(20) + math.log(2) + 0.1)
    p = measure_factors(t, b.toarray(), np.eye(3))
    assert p.eps1 == pytest.approx(0.0, abs=1e-12)
    assert p.eps2 <= 0.05 * math.exp(-0.1) + 1e-12


def test_random_projection_is_unbiased() -> None:
    """E[X⁽¹⁾X⁽²⁾ᵀ] = B: the mean over many seeds is within 5 standard errors of B.

    Entry (i, j) of B GᵀG/d has variance (‖B_i‖² + B_ij²)/d; with n draws the standard error is
    that over √n. 5 standard errors over 36 entries fails by chance with probability < 1e-5.
    """
    t = target_from_array(A3 + np.eye(3)[::-1])
    d, n = 8, 800
    b, _ = logit_target(t, 0.1, 0.1)
    dense = b.toarray()
    total = np.zeros_like(dense)
    for seed in range(n):
        x, _, _ = jl_params(t, 0.1, 0.1, d, seed)
        total += x[:, :d] @ x[:, d:].T
    mean = total / n
    var = ((dense**2).sum(axis=1, keepdims=True) + dense**2) / d
    se = np.sqrt(var / n)
    assert np.all(np.abs(mean - dense) <= 5 * se)
    # Negative control: an estimator biased by 10 % is caught by the same test.
    assert not np.all(np.abs(1.1 * mean - dense) <= 5 * se)


@pytest.mark.parametrize(
    "module",
    ["matrix_io", "precision", "jl", "search", "structured", "api"],
)
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    mod = importlib.import_module(f"symcheck.sparse.{module}")
    failed, _ = doctest.testmod(mod)
    assert failed == 0
