"""The pytest plugin, run on inner test suites through ``pytester``."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap

import numpy  # noqa: F401  (kept loaded: in-process inner runs must not import it again)
import pytest

from tests.conftest import SAMPLES

pytest_plugins = ["pytester"]
# Inner sessions skip hypothesis's plugin: importing it again in every inner run is slow.
QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider")

INNER = textwrap.dedent(
    """
    import numpy as np
    import pytest

    import symcheck
    from models import attention, positional_attention

    SIZES = {"n": 6, "m": 3, "d": 5}


    def test_attention(symcheck_equivariance):
        result = symcheck_equivariance(attention, ["n d", "m d"], "n d", ["O(d)", "S(n)"], SIZES)
        assert result.passed
        print("seed", result.seed, "trials", result.trials)


    def test_positional(symcheck_equivariance):
        symcheck_equivariance(positional_attention, "n d", "n d", "S(n)", {"n": 6, "d": 5})


    def test_failure_is_catchable(symcheck_equivariance):
        with pytest.raises(symcheck.EquivarianceError) as info:
            symcheck_equivariance(positional_attention, "n d", "n d", "S(n)", {"n": 6, "d": 5},
                                  seed=11, trials=2)
        assert info.value.result.seed == 11 and info.value.result.trials == 2
    """
)


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copy(SAMPLES / "ci" / "models.py", pytester.path / "models.py")
    pytester.makepyfile(test_inner=INNER)
    # symcheck is already imported by this session, so the inner one cannot rewrite it
    pytester.makeini("[pytest]\nfilterwarnings = ignore::pytest.PytestAssertRewriteWarning\n")
    return pytester


def test_fixture_passes_and_fails_with_a_replayable_message(inner: pytest.Pytester) -> None:
    result = inner.runpytest(*QUIET, "-s", "--symcheck-trials", "3")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*seed 0 trials 3*",
        "*EquivarianceError: positional_attention is not equivariant under S(n)*",
        "*Mismatched elements: * / 30 (*%)*",
        "*Greatest absolute difference: * at index (*) of output 0*",
        "*Relative error (norm-wise, ‖f(g·x) − g·f(x)‖ / ‖f(x)‖): * > tolerance 1.0e-09",
        "*replay: check_equivariance(positional_attention, inputs=*, seed=0, trials=3, "
        "case='S(n)/*')*",
    ])
    assert "symcheck: seed 0, trials 3" in result.stdout.str()  # the report header


def test_failure_shows_the_users_line_and_no_symcheck_source(inner: pytest.Pytester) -> None:
    """pytest hides symcheck's frames: the failure points at the user's call (before: the
    22 source lines of ``assert_equivariant`` stood between the call and the message)."""
    result = inner.runpytest(*QUIET, "--symcheck-trials", "3", "-k", "test_positional")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        ">       symcheck_equivariance(positional_attention, * {\"n\": 6, \"d\": 5})",
        "E       symcheck.api.EquivarianceError: positional_attention is not equivariant under "
        "S(n) (1 of 1 group checks fail; seed 0, 3 Haar trials + probes, dtype float64)",
        "test_inner.py:*: EquivarianceError",
    ])
    assert "symcheck/" not in out and "def assert_equivariant" not in out
    assert "Greatest relative difference" not in out  # torch.testing's element-wise term


DTYPES_INNER = textwrap.dedent(
    """
    from models import attention, positional_attention


    def test_both_dtypes_pass(symcheck_equivariance):
        results = symcheck_equivariance(attention, ["n d", "m d"], "n d", "S(n)",
                                        {"n": 6, "m": 3, "d": 5}, dtypes=("float64", "float32"))
        assert [r.dtype for r in results] == ["float64", "float32"]
        assert [r.tolerance for r in results] == [1e-9, 1e-6] and all(r.passed for r in results)


    def test_both_dtypes_fail(symcheck_equivariance):
        symcheck_equivariance(positional_attention, "n d", "n d", "S(n)", {"n": 6, "d": 5},
                              dtypes=("float64", "float32"))
    """
)


def test_dtypes_run_one_check_per_dtype_and_report_each(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_dtypes_inner=DTYPES_INNER)
    result = inner.runpytest(*QUIET, "--symcheck-trials", "3", "test_dtypes_inner.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "E       symcheck.api.EquivarianceError: positional_attention fails at float64, float32 "
        "(2 of 2 dtypes, each against its own tolerance):",
        "E         float64: fail (worst relative error * > tolerance 1.0e-09 in S(n))",
        "E         float32: fail (worst relative error * > tolerance 1.0e-06 in S(n))",
        "E       positional_attention is not equivariant under S(n) (* dtype float64)",
        "E       replay: check_equivariance(positional_attention, *, case='S(n)/*')",
        "E       positional_attention is not equivariant under S(n) (* dtype float32)",
        "E       replay: check_equivariance(positional_attention, *, dtype='float32', "
        "case='S(n)/*')",
    ])
    assert "symcheck/" not in result.stdout.str()


def test_seed_option_sets_the_default_seed(inner: pytest.Pytester) -> None:
    result = inner.runpytest(*QUIET, "-s", "--symcheck-seed", "5", "--symcheck-trials", "2")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*seed 5 trials 2*",
                                 "*replay: check_equivariance(positional_attention, *seed=5,*"])


@pytest.mark.parametrize(("option", "value", "least"), [
    ("--symcheck-trials", "0", 1), ("--symcheck-trials", "-2", 1),
    ("--symcheck-trials", "many", 1), ("--symcheck-seed", "-1", 0),
    ("--symcheck-seed", "1.5", 0),
])
def test_bad_option_values_are_usage_errors(pytester: pytest.Pytester, option: str, value: str,
                                            least: int) -> None:
    pytester.makepyfile("def test_x(symcheck_equivariance):\n    pass\n")
    result = pytester.runpytest(*QUIET, f"{option}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*argument {option}: expected a whole number of at least "
                                 f"{least}, got '{value}'*"])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize(("args", "header"), [
    (("--symcheck-trials", "1"), "symcheck: seed 0, trials 1"),
    (("--symcheck-seed", "0"), "symcheck: seed 0, trials default"),
    ((), None),
])
def test_report_header_shows_the_values_given(pytester: pytest.Pytester, args: tuple[str, ...],
                                              header: str | None) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    out = pytester.runpytest(*QUIET, *args).stdout.str()
    if header is None:
        assert "symcheck:" not in out
    else:
        assert header in out


def test_plugin_is_registered_by_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(symcheck_equivariance):\n    assert callable("
                        "symcheck_equivariance)\n")
    pytester.runpytest(*QUIET).assert_outcomes(passed=1)
    result = pytester.runpytest(*QUIET, "-p", "no:symcheck")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'symcheck_equivariance' not found*"])


def test_plugin_imports_nothing_heavy() -> None:
    code = ("import sys, symcheck.pytest_plugin; "
            "print(sorted({'numpy', 'scipy', 'rich', 'torch', 'jax'} & set(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_fixture_leaves_the_users_jax_numerics_alone(pytester: pytest.Pytester) -> None:
    """A float64 check turns jax's 64-bit mode on for symcheck's calls only: the user's next
    test still computes in jax's default float32."""
    pytester.makepyfile(test_jax_inner=textwrap.dedent(
        """
        import jax
        import jax.numpy as jnp


        @jax.jit
        def attention(x):
            return jax.nn.softmax(x @ x.T, axis=-1) @ x


        def test_check(symcheck_equivariance):
            assert symcheck_equivariance(attention, "n d", "n d", "O(d)", {"n": 5, "d": 4}).passed


        def test_users_own_numerics():
            assert not jax.config.jax_enable_x64
            assert jnp.ones(2).dtype == jnp.float32
        """))
    # In a subprocess: an in-process run would unload jax after it, and jaxlib aborts the
    # process when it is imported a second time.
    pytester.runpytest_subprocess(*QUIET).assert_outcomes(passed=2)
