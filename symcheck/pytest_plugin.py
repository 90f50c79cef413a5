"""pytest plugin: gate a project's symmetries from its own test suite.

Installed with symcheck and registered through the ``pytest11`` entry point, so any project
that has symcheck installed can use the ``symcheck_equivariance`` fixture without importing
anything::

    def test_attention_is_equivariant(symcheck_equivariance):
        symcheck_equivariance(attention, ["n d", "m d"], "n d", ["O(d)", "S(n)"],
                              {"n": 8, "m": 4, "d": 16})

The fixture is :func:`symcheck.assert_equivariant` with the suite's defaults: the options
``--symcheck-seed N`` and ``--symcheck-trials N`` set the seed and the number of Haar draws of
every call that does not pass its own ``seed=``/``trials=``. A failure raises
:class:`symcheck.EquivarianceError` whose message gives the worst case, where it differs, its
norm-wise relative error against the tolerance, and the seed and case that replay it; pytest
shows it at the test's own line (symcheck's frames are hidden).

``dtypes=("float64", "float32")`` runs the check once per dtype in the one test (what e3nn's
suites do by running every test at each default dtype), each against its own dtype's
tolerance, and fails with every dtype's verdict::

    def test_attention_at_both_precisions(symcheck_equivariance):
        symcheck_equivariance(attention, ["n d", "m d"], "n d", ["O(d)", "S(n)"],
                              {"n": 8, "m": 4, "d": 16}, dtypes=("float64", "float32"))

pytest imports this module in every session of every project with symcheck installed, so it
imports nothing but pytest at module level; symcheck's engine is imported on first use.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from symcheck.engine.equivariance import EquivarianceResult

    #: one result, or one per dtype with ``dtypes=(...)``
    Checked = EquivarianceResult | tuple[EquivarianceResult, ...]


def _whole_number(least: int) -> Callable[[str], int]:
    """An option type: an integer of at least ``least``; pytest shows a usage error otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < least:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {least}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {least}"  # argparse names the type in some messages
    return parse


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("symcheck", "symmetry checks (symcheck_equivariance fixture)")
    group.addoption(
        "--symcheck-seed", type=_whole_number(0), default=None, metavar="N",
        help="Seed (N >= 0) of every symcheck_equivariance check that sets none (default 0).",
    )
    group.addoption(
        "--symcheck-trials", type=_whole_number(1), default=None, metavar="N",
        help="Haar-random draws per group (N >= 1) for every check that sets none (default 20, "
             "or what the model declares).",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption("symcheck_seed")
    trials = config.getoption("symcheck_trials")
    if seed is None and trials is None:
        return None
    return (f"symcheck: seed {0 if seed is None else seed}, "
            f"trials {'default' if trials is None else trials}")


@pytest.fixture
def symcheck_equivariance(request: pytest.FixtureRequest) -> Callable[..., Checked]:
    """``symcheck_equivariance(fn, inputs, output, groups, sizes, **options)`` asserts that
    ``fn`` is equivariant and returns the :class:`~symcheck.EquivarianceResult` (with
    ``dtypes=(...)``: one per dtype, in that order).

    Arguments are those of :func:`symcheck.assert_equivariant`; ``seed`` and ``trials`` default
    to ``--symcheck-seed`` / ``--symcheck-trials``.
    """
    seed = request.config.getoption("symcheck_seed")
    trials = request.config.getoption("symcheck_trials")

    def check(fn: Callable[..., Any], *args: Any, **options: Any) -> Checked:
        __tracebackhide__ = True
        from symcheck.api import assert_equivariant

        if seed is not None:
            options.setdefault("seed", seed)
        if trials is not None:
            options.setdefault("trials", trials)
        return assert_equivariant(fn, *args, **options)

    return check
