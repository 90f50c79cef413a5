"""``symcheck check``: configuration validation, exit codes, and every output format."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from symcheck.app.config import ConfigError, load_config
from symcheck.report.check import CheckOutcome, github_annotations
from symcheck.report.junit import to_junit
from tests.conftest import SAMPLES, CliResult, check_table

CI = SAMPLES / "ci"
Cli = Callable[..., CliResult]

ATTENTION = check_table("attention", "models.py:attention", inputs=["n d", "m d"],
                        groups=["O(d)", "S(n)"], sizes={"n": 6, "m": 3, "d": 5}, trials=4)
POSITIONAL_SN = check_table("positional", "models.py:positional_attention",
                            sizes={"n": 6, "d": 5}, trials=4, seed=3)
BROKEN_IMPORT = check_table("typo", "typo.py:f", sizes={"n": 4, "d": 2})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """A folder holding samples/ci/models.py and the given symcheck.toml; cwd is set to it."""
    shutil.copy(CI / "models.py", tmp_path / "models.py")
    monkeypatch.chdir(tmp_path)

    def make(config: str, name: str = "symcheck.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(config))
        return path

    return make


def one_line_error(r: CliResult) -> str:
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symcheck: error: "), r.stderr
    assert "Traceback" not in r.output
    return lines[0]


# --- exit 0 and 1 -------------------------------------------------------------------------------


def test_sample_project_passes(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CI)
    r = cli("check")
    assert r.exit_code == 0, r.output
    assert "2 checks from pyproject.toml" in r.stdout
    assert "| attention " in r.stdout and "| positional " in r.stdout
    assert "PASS: 2 passed, 0 failed, 0 errors" in r.stdout


def test_config_paths_are_relative_to_the_config_file(cli: Cli, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = cli("check", "--config", CI / "broken.toml")
    assert r.exit_code == 1, r.output
    # the replay command names the model file so that it works from the current directory
    assert f"symcheck equivariance {CI / 'models.py'}:positional_attention" in r.stdout


def test_failing_check_reports_what_broke_and_the_replay_that_reproduces_it(
    cli: Cli, project: Callable[[str], Path]
) -> None:
    project(ATTENTION + POSITIONAL_SN)
    r = cli("check")
    assert r.exit_code == 1, r.output
    assert "FAIL: 1 passed, 1 failed, 0 errors" in r.stdout
    assert "--- positional: FAIL" in r.stdout
    assert "✗ S(n): worst case" in r.stdout
    replay = next(line for line in r.stdout.splitlines() if line.startswith("replay the worst"))
    command = replay.split(": ", 1)[1]
    assert command.startswith("symcheck equivariance models.py:positional_attention ")
    again = cli(*__import__("shlex").split(command)[1:])
    assert again.exit_code == 1
    worst = next(line for line in r.stdout.splitlines() if line.startswith("✗ S(n)"))
    assert worst in again.stdout  # the same case, the same numbers


def test_numbers_equal_the_python_api(cli: Cli, project: Callable[[str], Path],
                                      tmp_path: Path) -> None:
    import importlib.util

    from symcheck import check_equivariance

    project(POSITIONAL_SN)
    r = cli("check", "--json", "report.json")
    assert r.exit_code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    spec = importlib.util.spec_from_file_location("ci_models", tmp_path / "models.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    api = check_equivariance(module.positional_attention, "n d", "n d", "S(n)",
                             {"n": 6, "d": 5}, trials=4, seed=3).to_dict()
    got = report["checks"][0]["result"]["groups"][0]
    assert got["max"] == api["groups"][0]["max"] and got["worst"] == api["groups"][0]["worst"]


def test_non_finite_output_fails(cli: Cli, project: Callable[[str], Path],
                                 tmp_path: Path) -> None:
    (tmp_path / "nan.py").write_text("import numpy as np\n\ndef f(x):\n    return x * np.nan\n")
    project('[[check]]\nname = "nan"\nmodel = "nan.py:f"\ninputs = "n d"\noutput = "n d"\n'
            'groups = "S(n)"\nsizes = { n = 3, d = 2 }\ntrials = 2\n')
    r = cli("check")
    assert r.exit_code == 1
    assert "NaN/Inf" in r.stdout


def test_only_runs_the_named_checks(cli: Cli, project: Callable[[str], Path]) -> None:
    project(ATTENTION + POSITIONAL_SN)
    r = cli("check", "--only", "attention")
    assert r.exit_code == 0, r.output
    assert "1 check from symcheck.toml" in r.stdout and "positional" not in r.stdout


# --- a check that cannot run: error, the others still run, exit 1 -------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (BROKEN_IMPORT, "model: file 'typo.py' does not exist"),
        ('[[check]]\nname = "raises"\nmodel = "bad.py:f"\ninputs = "n d"\noutput = "n d"\n'
         'groups = "S(n)"\nsizes = { n = 3, d = 2 }\n', "raised ZeroDivisionError"),
        ('[[check]]\nname = "import"\nmodel = "bad.py:g"\ninputs = "n d"\noutput = "n d"\n'
         'groups = "S(n)"\nsizes = { n = 3, d = 2 }\n', "has no callable named 'g'"),
        ('[[check]]\nname = "shape"\nmodel = "models.py:attention"\ninputs = "n d"\n'
         'output = "n d"\ngroups = "S(n)"\nsizes = { n = 3, d = 2 }\n', "raised TypeError"),
        ('[[check]]\nname = "nosize"\nmodel = "models.py:positional_attention"\ninputs = "n d"\n'
         'output = "n d"\ngroups = "S(n)"\nsizes = { n = 3 }\n', "no size for 'd'"),
    ],
    ids=["missing-file", "model-raises", "no-such-callable", "wrong-arity", "missing-size"],
)
def test_check_that_cannot_run_is_an_error_and_the_others_still_run(
    cli: Cli, project: Callable[[str], Path], tmp_path: Path, extra: str, message: str
) -> None:
    (tmp_path / "bad.py").write_text("def f(x):\n    return 1 / 0\n")
    project(extra + ATTENTION)
    r = cli("check", "--junit", "out.xml")
    assert r.exit_code == 1, r.output
    assert "FAIL: 1 passed, 0 failed, 1 error" in r.stdout
    assert message in r.stdout
    suite = ET.parse(tmp_path / "out.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("errors") == "1" and suite.get("failures") == "0"
    error = suite.find("testcase/error")
    assert error is not None and message in (error.get("message") or "")


def test_debug_shows_the_traceback_of_a_check_error(cli: Cli, project: Callable[[str], Path],
                                                    tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f(x):\n    return 1 / 0\n")
    project('[[check]]\nname = "raises"\nmodel = "bad.py:f"\ninputs = "n d"\noutput = "n d"\n'
            'groups = "S(n)"\nsizes = { n = 3, d = 2 }\n')
    assert "Traceback" not in cli("check").stderr
    r = cli("check", "--debug")
    assert r.exit_code == 1
    assert "Traceback" in r.stderr and "ZeroDivisionError" in r.stderr


def test_weights_checks(cli: Cli, project: Callable[[str], Path], tmp_path: Path) -> None:
    weights = SAMPLES / "weights"
    for name in ("plain", "bert"):
        shutil.copytree(weights / name, tmp_path / name)
    project('[[check]]\nname = "plain"\nweights = "plain/attention.npz"\ntrials = 2\n'
            '[[check]]\nname = "bert"\nweights = "bert/model.npz"\ntrials = 2\n'
            'groups = ["O(d)"]\nsizes = { n = 4 }\ncomponent = "block"\n'
            '[[check]]\nname = "bert-attention"\nweights = "bert/model.npz"\ntrials = 2\n'
            'component = "attention"\nlayer = "encoder.layer.1"\n')
    r = cli("check", "--json", "report.json")
    assert r.exit_code == 1, r.output
    checks = {c["name"]: c for c in json.loads((tmp_path / "report.json").read_text())["checks"]}
    assert {n: c["verdict"] for n, c in checks.items()} == {
        "plain": "pass", "bert": "fail", "bert-attention": "pass"}
    bert = checks["bert"]
    assert bert["kind"] == "weights" and set(bert["numbers"]["max_error"]) == {"O(d)"}
    assert "caused by attention.output.LayerNorm" in bert["report"]
    assert bert["replay"].startswith("symcheck equivariance bert/model.npz --layer encoder.layer.0")
    assert bert["result"]["sizes"]["n"] == 4
    assert checks["bert-attention"]["result"]["layer"].endswith("1")
    again = cli(*__import__("shlex").split(bert["replay"])[1:])
    assert again.exit_code == 1


def test_matrix_checks(cli: Cli, project: Callable[[str], Path], tmp_path: Path) -> None:
    import numpy as np

    np.save(tmp_path / "reversal.npy", np.eye(8)[::-1])
    np.save(tmp_path / "bad.npy", -np.eye(4))
    project('[[check]]\nname = "reversal"\nmatrix = "reversal.npy"\nprecision = 0.1\n'
            'max_d = 4\n'
            '[[check]]\nname = "too-small"\nmatrix = "reversal.npy"\nprecision = 0.1\n'
            'max_d = 1\n'
            '[[check]]\nname = "negative"\nmatrix = "bad.npy"\n')
    r = cli("check", "--junit", "out.xml", "--github")
    assert r.exit_code == 1, r.output
    assert "| reversal  | matrix | d 2 (max 4, lower bound" in r.stdout
    assert "no hidden size d ≤ 1 reproduces reversal.npy" in r.stdout
    assert "rerun: symcheck check --config symcheck.toml --only too-small" in r.stdout
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "out.xml").iter("testcase")}
    assert all(c.get("classname") == "symcheck.matrix" for c in cases.values())
    assert cases["reversal"].find("failure") is None
    assert cases["too-small"].find("failure") is not None
    assert cases["negative"].find("error") is not None  # a malformed matrix cannot run
    assert "::error file=reversal.npy,title=symcheck too-small::no hidden size" in r.stdout


def test_config_choices_match_the_modules_they_configure() -> None:
    from symcheck.app.config import OPTIONS
    from symcheck.sources.weights.check import COMPONENTS, MODES
    from symcheck.sparse import METHODS

    def allowed(kind: str, key: str) -> set[str]:
        accepted = set()
        for value in ("auto", "opt", "jl", "poly", "cotransform", "fixed", "attention", "block",
                      "x"):
            try:
                OPTIONS[kind][key](value, key)
                accepted.add(value)
            except ConfigError:
                pass
        return accepted

    assert allowed("weights", "mode") == set(MODES)
    assert allowed("weights", "component") == set(COMPONENTS)
    assert allowed("matrix", "method") == set(METHODS)


# --- formats --------------------------------------------------------------------------------------


def test_junit_is_valid_xml_with_one_testcase_per_check(
    cli: Cli, project: Callable[[str], Path], tmp_path: Path
) -> None:
    project(ATTENTION + POSITIONAL_SN + BROKEN_IMPORT)
    r = cli("check", "--junit", "symcheck.xml")
    assert r.exit_code == 1
    root = ET.parse(tmp_path / "symcheck.xml").getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "symcheck"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    assert float(suite.get("time") or "nan") >= 0
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["attention", "positional", "typo"]
    assert all(c.get("classname") == "symcheck.model" for c in cases.values())
    assert cases["attention"].find("failure") is None and cases["attention"].find("error") is None
    failure = cases["positional"].find("failure")
    assert failure is not None
    assert "not equivariant under S(n)" in (failure.get("message") or "")
    assert "replay the worst case: symcheck equivariance" in (failure.text or "")
    assert cases["typo"].find("error") is not None
    assert not list(tmp_path.glob(".symcheck.xml.*"))  # written atomically, no temp left


def test_junit_escapes_markup_and_control_characters() -> None:
    nasty = 'model raised ValueError: <b> & "quotes" \x1b[31m\x00'
    xml = to_junit([CheckOutcome("a<b>&", "model", "error", nasty, report=nasty)])
    root = ET.fromstring(xml)
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == "a<b>&"
    error = case.find("error")
    assert error is not None and '<b> & "quotes"' in (error.get("message") or "")


def test_json_report(cli: Cli, project: Callable[[str], Path]) -> None:
    project(ATTENTION + POSITIONAL_SN)
    r = cli("check", "--json", "-")
    assert r.exit_code == 1
    payload = json.loads(r.stdout)  # stdout holds the JSON only; the table went to stderr
    assert "symcheck check:" in r.stderr
    assert payload["verdict"] == "fail" and (payload["passed"], payload["failed"]) == (1, 1)
    first, second = payload["checks"]
    assert first["kind"] == "model" and first["verdict"] == "pass"
    assert set(first["numbers"]["max_error"]) == {"O(d)", "S(n)", "O(d) × S(n)"}
    assert second["replay"].startswith("symcheck equivariance models.py:positional_attention")
    assert second["result"]["seed"] == 3


def test_github_annotations(cli: Cli, project: Callable[[str], Path]) -> None:
    project(ATTENTION + POSITIONAL_SN + BROKEN_IMPORT)
    r = cli("check", "--github")
    assert r.exit_code == 1
    lines = [line for line in r.stdout.splitlines() if line.startswith("::")]
    assert len(lines) == 2
    assert lines[0].startswith("::error file=models.py,line=")
    assert ",title=symcheck positional::positional_attention is not equivariant under S(n)" \
        in lines[0]
    assert "| replay: symcheck equivariance" in lines[0]
    assert lines[1].startswith("::error file=typo.py,title=symcheck typo::could not run: ")


def test_github_annotation_escaping() -> None:
    outcome = CheckOutcome("a,b:c", "model", "fail", "100% off\r\nnext", file="dir,x/m:1.py")
    (line,) = github_annotations([outcome])
    assert line == "::error file=dir%2Cx/m%3A1.py,title=symcheck a%2Cb%3Ac::100%25 off%0D%0Anext"
    assert github_annotations([CheckOutcome("ok", "model", "pass", "fine")]) == []


# --- exit 2: the configuration or the call is wrong ---------------------------------------------

CHECK = ('name = "attention"\nmodel = "models.py:attention"\ninputs = ["n d", "m d"]\n'
         'output = "n d"\n')


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("[[check]]\n" + CHECK + 'group = ["O(d)"]\n',
         "symcheck.toml: check 'attention': unknown key 'group'; did you mean 'groups'? (known: "
         "name, model, inputs, output, groups, sizes, trials, seed, rtol, dtype, probes, search, "
         "timeout, mask, padding_mask, data)"),
        ('[[check]]\nmodel = "models.py:attention"\n', "check #1: missing key 'name'"),
        ("[[check]]\nname = 3\nmodel = 'm.py'\n", "check #1: 'name' must be a non-empty string"),
        ('[[check]]\nname = "x"\n', "check 'x': missing what to check: one of 'model'"),
        ('[[check]]\nname = "x"\nmodel = "m.py"\nmatrix = "a.npy"\n',
         "check 'x': 'model' and 'matrix' are both given"),
        ("[[check]]\n" + CHECK + "precision = 0.1\n",
         "check 'attention': unknown key 'precision' in a model check"),
        ("[[check]]\n" + CHECK + 'trials = "20"\n',
         "check 'attention': 'trials' must be an integer ≥ 1, got '20'"),
        ("[[check]]\n" + CHECK + "trials = 0\n", "'trials' must be an integer ≥ 1, got 0"),
        ("[[check]]\n" + CHECK + "seed = -1\n", "'seed' must be an integer ≥ 0, got -1"),
        ("[[check]]\n" + CHECK + "rtol = 0\n", "'rtol' must be a finite positive number, got 0"),
        ("[[check]]\n" + CHECK + 'dtype = "float8"\n', "'dtype' must be one of float64"),
        ("[[check]]\n" + CHECK + "sizes = { n = 0 }\n", "'sizes': n = 0 must be a positive"),
        ("[[check]]\n" + CHECK + "sizes = 8\n", "'sizes' must be a table such as"),
        ("[[check]]\n" + CHECK + 'groups = ["Q(d)"]\n', "'groups': unknown group 'Q(d)'"),
        ("[[check]]\n" + CHECK + 'groups = ["O(d)", "O(d)"]\n', "a group is named twice"),
        ("[[check]]\n" + CHECK + 'groups = ["O(D)"]\n',
         "check 'attention': 'groups': 'O(D)' acts on 'D', which appears in no spec"),
        ("[[check]]\n" + CHECK + 'groups = ["S(n)"]\nsizes = { n = 4, q = 2 }\n',
         "check 'attention': 'sizes': q=2 names 'q', which appears in no spec"),
        ("[[check]]\n" + CHECK + "groups = []\n", "'groups' must be a string or a non-empty"),
        ('[[check]]\nname = "x"\nmodel = "m.py"\ninputs = ["n-d"]\n',
         "check 'x': 'inputs': 'n-d' has the label 'n-d'"),
        ('[[check]]\nname = "x"\nmodel = ""\n', "check 'x': 'model' must be a file path"),
        ('[[check]]\nname = "x"\nweights = "w.npz"\nprecision = 0.1\n',
         "unknown key 'precision' in a weights check"),
        ('[[check]]\nname = "x"\nweights = "w.npz"\ninputs = "n d"\n',
         "unknown key 'inputs' in a weights check (known: name, weights, groups, sizes"),
        ('[[check]]\nname = "x"\nweights = "w.npz"\nsizes = { n = 4, d = 8 }\n',
         "'sizes': 'd' comes from the weights file"),
        ('[[check]]\nname = "x"\nweights = "w.npz"\nmode = "rotate"\n',
         "'mode' must be one of cotransform, fixed, got 'rotate'"),
        ('[[check]]\nname = "x"\nmatrix = "a.npy"\nprecision = 1.5\n',
         "'precision' must lie strictly between 0 and 1, got 1.5"),
        ('[[check]]\nname = "x"\nmatrix = "a.npy"\ngroups = "S(n)"\n',
         "check 'x': unknown key 'groups' in a matrix check (known: name, matrix, precision, "
         "max_d, seed, method)"),
        ('[[check]]\nname = "x"\nmatrix = "a.npy"\nmax_d = 0.5\n', "'max_d' must be an integer"),
        ("[[check]]\n" + CHECK + "[[check]]\n" + CHECK,
         "check 'attention': the name is used twice"),
        ("[[check]]\nname = 'x'\nmodel = 'm.py'\ntrials = \n", "symcheck.toml: not valid TOML"),
        ("# nothing yet\n", "symcheck.toml: no checks declared; add [[check]] tables"),
        ("check = 3\n", "no checks declared"),
        ("[[checks]]\nname = 'x'\n",
         "top level: unknown key 'checks'; did you mean 'check'? (known: check)"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else str(v),
)
def test_config_errors_exit_2_with_one_line(cli: Cli, project: Callable[[str], Path],
                                            config: str, expected: str) -> None:
    project(config)
    line = one_line_error(cli("check"))
    assert expected in line


@pytest.mark.parametrize(
    ("pyproject", "expected"),
    [
        ("[project]\nname = 'x'\n", "pyproject.toml in this folder has no [tool.symcheck] table"),
        ("[tool.symcheck]\nchecks = []\n", "[tool.symcheck]: unknown key 'checks'"),
        ("[tool.symcheck]\n", "no checks declared; add [[tool.symcheck.check]] tables"),
        ("[[tool.symcheck.check]]\n" + CHECK + "group = 'S(n)'\n",
         "pyproject.toml: check 'attention': unknown key 'group'"),
    ],
)
def test_pyproject_errors(cli: Cli, project: Callable[[str], Path], pyproject: str,
                          expected: str) -> None:
    project(pyproject, "pyproject.toml")
    assert expected in one_line_error(cli("check"))


def test_call_errors_exit_2(cli: Cli, project: Callable[[str], Path], tmp_path: Path) -> None:
    assert "no symcheck.toml or pyproject.toml in" in one_line_error(cli("check"))
    assert "--config: file 'nope.toml' does not exist" in one_line_error(
        cli("check", "--config", "nope.toml"))
    project(ATTENTION)
    assert "--only: no check named 'atention' in symcheck.toml (checks: attention)" in \
        one_line_error(cli("check", "--only", "atention"))
    assert "--junit: 'no/such/dir.xml': directory 'no/such' does not exist" in \
        one_line_error(cli("check", "--junit", "no/such/dir.xml"))
    assert "only one of them can write to stdout" in one_line_error(
        cli("check", "--junit", "-", "--json", "-"))
    assert "No such option" in one_line_error(cli("check", "--bogus"))


def test_symcheck_toml_wins_over_pyproject(project: Callable[[str], Path]) -> None:
    project(ATTENTION)
    project("[project]\nname = 'x'\n", "pyproject.toml")
    config = load_config()
    assert config.path.name == "symcheck.toml" and [c.name for c in config.checks] == [
        "attention"]


def test_config_error_is_a_symcheck_error(tmp_path: Path) -> None:
    path = tmp_path / "symcheck.toml"
    path.write_text("[[check]]\nname = 'x'\nmodel = 'm.py'\ngroup = 'S(n)'\n")
    with pytest.raises(ConfigError, match="unknown key 'group'"):
        load_config(path)


def test_help_and_real_subprocess() -> None:
    proc = subprocess.run([sys.executable, "-m", "symcheck", "check", "--junit", "-"],
                          cwd=CI, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    root = ET.fromstring(proc.stdout)
    assert root.find("testsuite") is not None
    assert "PASS: 2 passed" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "symcheck", "check", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--junit" in proc.stdout and "Exit 0" in proc.stdout
