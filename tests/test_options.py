"""One options value, declared once: every door takes each declared measurement option from its
declaration (the command line, the configuration file, the Python API, the error wording), and
each value is checked once, by its declared kind."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import symcheck
from symcheck.app.config import OPTIONS, known_keys
from symcheck.cli.common import CLI
from symcheck.core.errors import SpecError
from symcheck.core.options import MAX_TRIALS, Measure, declared
from tests.conftest import ROOT, CliResult

Cli = Callable[..., CliResult]
NAMES = [name for name, _ in declared()]


def test_every_declared_option_is_on_the_command_line(cli: Cli) -> None:
    help_text = cli("equivariance", "--help").stdout
    for name, option in declared():
        assert f"--{option.flag}" in help_text, name
        assert CLI.name(name) == f"--{option.flag}"


def test_every_declared_option_is_a_keyword_of_the_python_api() -> None:
    parameters = inspect.signature(symcheck.check_equivariance).parameters
    for name in NAMES:
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default == Measure.__dataclass_fields__[name].default


def test_the_configuration_takes_exactly_the_declared_keys() -> None:
    wanted = {name for name, option in declared() if option.config}
    model_keys = set(known_keys("model"))
    assert wanted <= model_keys
    assert {name for name, option in declared() if not option.config}.isdisjoint(model_keys)
    assert set(OPTIONS["model"]) - wanted == {"inputs", "output", "groups", "sizes", "mask",
                                              "padding_mask", "data"}


# (option, bad value, the message the Python API shows)
BAD = [
    ("trials", 0, "trials: 0 must be at least 1"),
    ("trials", MAX_TRIALS + 1, "trials: 100001 is more than 100,000 Haar draws per group"),
    ("trials", 2.5, "trials: 2.5 must be an integer ≥ 1"),
    ("seed", -1, "seed: -1 must be at least 0"),
    ("seed", True, "seed: True must be an integer ≥ 0"),
    ("rtol", float("nan"), "rtol: nan must be a finite number greater than 0"),
    ("rtol", 0.0, "rtol: 0.0 must be a finite number greater than 0"),
    ("dtype", "float8", "dtype: 'float8' is not one of float64, float32, bfloat16, float16"),
    ("search", -3, "search: -3 steps must be at least 0"),
    ("probes", "no", "probes: 'no' must be True or False"),
    ("timeout", 1e300, "timeout: 1e+300 is more than 604,800 s (a week)"),
    ("timeout", 0, "timeout: 0 must be a finite number of seconds greater than 0"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_each_value_is_checked_by_its_kind_in_every_door(name: str, value: object,
                                                         message: str) -> None:
    with pytest.raises(SpecError) as info:
        Measure(**{name: value}).validated()
    assert str(info.value).startswith(message)
    with pytest.raises(SpecError) as api:  # the API is checked at the service boundary
        symcheck.check_equivariance(np.tanh, "n d", "n d", "S(n)", {"n": 3, "d": 2},
                                    **{name: value})
    assert str(api.value).startswith(message)


def test_a_declared_tolerance_is_checked_like_a_given_one() -> None:
    """A declaration is input too: ``rtol=nan`` in the decorator would pass anything; it is
    refused where it is written."""
    with pytest.raises(SpecError, match=r"@symcheck.equivariant: rtol: nan must be a finite"):
        @symcheck.equivariant(inputs="n d", output="n d", groups="S(n)",
                              sizes={"n": 3, "d": 2}, rtol=float("nan"))
        def f(x: np.ndarray) -> np.ndarray:
            return x + x[:1]  # not S(n)-equivariant


def test_an_unknown_keyword_names_the_nearest_option() -> None:
    with pytest.raises(SpecError, match="unexpected option 'trails'; did you mean 'trials'"):
        symcheck.check_equivariance(np.tanh, "n d", "n d", "S(n)", {"n": 3, "d": 2}, trails=3)
    with pytest.raises(SpecError, match="'probes' does not apply to a form check"):
        symcheck.check_form(np.tanh, "n d", "n d", "O(d)", {"n": 3, "d": 4}, probes=False)


def test_changed_lists_what_a_recipe_must_repeat() -> None:
    assert Measure().changed() == {}
    assert Measure(seed=3, probes=False).changed() == {"seed": 3, "probes": False}
    assert list(Measure().to_dict()) == NAMES


def test_every_result_has_one_protocol_and_one_word_for_it_held() -> None:
    """A name, a verdict, ``passed`` and ``to_dict`` on every result (no ``holds``, ``met``
    or ``still_broken``)."""
    from symcheck.app.replay_runner import ReplayResult
    from symcheck.app.weights_runner import StackResult
    from symcheck.core.verdicts import Result, Verdict
    from symcheck.engine.equivariance import GroupResult
    from symcheck.sources.weights.check import WeightsResult
    from symcheck.sparse import approximate

    a = np.eye(8) + np.roll(np.eye(8), 1, axis=1)
    results = [symcheck.check_equivariance(np.tanh, "n d", "n d", "S(n)", {"n": 3, "d": 2}),
               symcheck.check_form(np.tanh, "n d", "n d", "O(d)", {"n": 2, "d": 4}),
               approximate(a, precision=0.1, method="poly")]
    for result in [*results, results[0].groups[0]]:
        assert isinstance(result, Result), type(result).__name__
        assert result.passed is (result.verdict is Verdict.PASS)
    for cls in (ReplayResult, StackResult, WeightsResult):  # properties on the class
        assert all(hasattr(cls, a) for a in ("name", "verdict", "passed", "to_dict")), cls
    for cls in (*map(type, results), ReplayResult, StackResult, GroupResult, WeightsResult):
        assert not any(hasattr(cls, old) for old in ("holds", "met", "still_broken")), cls


def test_a_replay_repeats_every_option_that_differs_from_its_default() -> None:
    """The recipe carries the options as one value; both doors word every changed one."""
    from symcheck.api import python_call
    from symcheck.app.outcomes import Reproduction
    from symcheck.cli.common import command
    from symcheck.core.caseid import CaseId, GroupSet

    r = Reproduction(kind="model", target="m.py:f", name="f", inputs=("n d",),
                     outputs=("n d",), groups=("S(n)",), sizes={"n": 4, "d": 2},
                     measure=Measure(seed=2, trials=5, batch=False, timeout=30.0, search=7),
                     case=CaseId(GroupSet(("S(n)",)), "haar", 3))
    line = command(r)
    assert line is not None
    assert "--seed 2 --trials 5 --search 7 --no-batch --timeout 30.0 --case 'S(n)/haar:3'" in line
    call = python_call(r)
    assert call is not None and "search=7, batch=False, timeout=30.0, case='S(n)/haar:3'" in call
    assert r.to_dict()["batch"] is False and "case" in r.to_dict()


WEIGHTS = str(ROOT / "samples" / "weights" / "llama" / "model.safetensors")


@pytest.mark.parametrize(("option", "shown"), [
    (["--no-probes"], "--no-probes does not apply to a weights file"),
    (["--no-batch"], "--no-batch does not apply to a weights file"),
    (["--padding-mask", "x"], "--padding-mask does not apply to a weights file"),
    (["--mask", "x"], "--mask does not apply to a weights file"),
])
def test_an_option_a_weights_file_cannot_use_is_refused_not_dropped(
        cli: Cli, option: list[str], shown: str) -> None:
    pytest.importorskip("safetensors")
    r = cli("equivariance", WEIGHTS, "--component", "block", "--group", "O(d)", *option)
    assert r.exit_code == 2 and r.stderr.startswith(f"symcheck: error: {shown}"), r.output


def test_a_weights_replay_repeats_its_options(cli: Cli) -> None:
    pytest.importorskip("safetensors")
    r = cli("equivariance", WEIGHTS, "--component", "block", "--group", "O(d)", "--trials", "3",
            "--seed", "4", "--timeout", "300")
    assert r.exit_code == 1, r.output
    assert "--seed 4 --trials 3 --timeout 300.0 --weights cotransform" in r.stdout


def test_a_mask_in_every_door(cli: Cli, tmp_path: Path) -> None:
    """The Python API takes mask= with data=; a configuration names its inputs file."""
    import shutil

    def enc(x: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = x.copy()  # padding rows get their position: not S(n)-equivariant there
        out[~attention_mask] = np.arange(len(x))[~attention_mask, None]
        return out

    x = np.random.default_rng(0).standard_normal((6, 3))
    valid = np.array([1, 1, 1, 1, 0, 0], bool)
    specs = (["n d", "attention_mask=n"], "n d", "S(n)")
    assert symcheck.check_equivariance(enc, *specs, data=[x, valid],
                                       mask="attention_mask").passed
    assert not symcheck.check_equivariance(enc, *specs, data=[x, valid]).passed

    def broken(x: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return enc(x, attention_mask) + 1e-3 * np.arange(len(x))[:, None]  # at valid rows too

    # the control: a mask hides padding, never a violation where positions are valid
    assert not symcheck.check_equivariance(broken, *specs, data=[x, valid],
                                           mask="attention_mask").passed
    for name in ("padding.py", "mask.npz"):
        shutil.copy(ROOT / "samples" / "options" / name, tmp_path / name)
    (tmp_path / "symcheck.toml").write_text(
        '[[check]]\nname = "enc"\nmodel = "padding.py:encoder"\nmask = "attention_mask"\n'
        'data = "mask.npz"\n')
    r = cli("check", "--config", str(tmp_path / "symcheck.toml"))
    assert r.exit_code == 0, r.output


def test_an_unknown_keyword_is_a_type_error_too() -> None:
    with pytest.raises(TypeError, match="did you mean 'trials'"):
        symcheck.check_equivariance(np.tanh, "n d", "n d", "S(n)", {"n": 3, "d": 2}, trails=3)
