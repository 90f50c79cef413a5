"""The examples of docs/ci.md ("Use in CI"), run as they are written.

Each example follows an ``<!-- use-in-ci: NAME -->`` marker; this module extracts the fenced
block after it and runs it: the config against ``samples/ci/models.py``, the workflow's
``symcheck check`` line in that project, the pytest example through ``pytester``, and the
quoted output lines against what symcheck prints.
"""

from __future__ import annotations

import re
import shlex
import shutil
import textwrap
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy  # noqa: F401  (kept loaded: in-process inner runs must not import it again)
import pytest

from tests.conftest import ROOT, SAMPLES, CliResult

pytest_plugins = ["pytester"]

CI = SAMPLES / "ci"
_BLOCK = re.compile(r"<!-- use-in-ci: (?P<name>[\w.-]+) -->\n```(?P<lang>\w*)\n(?P<body>.*?)\n```",
                    re.DOTALL)


def readme_blocks() -> dict[str, str]:
    text = (ROOT / "docs" / "ci.md").read_text()
    return {m["name"]: m["body"] for m in _BLOCK.finditer(text)}


@pytest.fixture
def ci_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The documented pyproject.toml beside samples/ci/models.py; cwd is set to it."""
    shutil.copy(CI / "models.py", tmp_path / "models.py")
    (tmp_path / "pyproject.toml").write_text(readme_blocks()["pyproject.toml"] + "\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_example_is_present() -> None:
    assert set(readme_blocks()) == {"pyproject.toml", "config-error", "workflow", "annotation",
                                    "test_symmetry.py", "fixture-failure", "dtypes-failure"}


def test_readme_config_is_the_sample_project() -> None:
    readme = tomllib.loads(readme_blocks()["pyproject.toml"])
    sample = tomllib.loads((CI / "pyproject.toml").read_text())
    assert readme == sample


def workflow_steps() -> list[str]:
    """The workflow's steps, each as its block of lines (no YAML parser needed)."""
    text = readme_blocks()["workflow"]
    assert text.startswith("name: ") and "\non: " in text and "\njobs:\n" in text
    steps = re.split(r"\n(?=      - )", text.split("    steps:\n", 1)[1])
    return [textwrap.dedent(s).strip() for s in steps]


def test_workflow_job_runs_symcheck_and_keeps_the_report(
    cli: Callable[..., CliResult], ci_project: Path
) -> None:
    steps = workflow_steps()
    uses = [s.split("uses: ", 1)[1].split("\n")[0] for s in steps if s.startswith("- uses: ")]
    assert [u.split("@")[0] for u in uses] == [
        "actions/checkout", "actions/setup-python", "actions/upload-artifact"]
    runs = [s.removeprefix("- run: ") for s in steps if s.startswith("- run: ")]
    assert runs[0].startswith("pip install ")
    check = shlex.split(runs[1])
    assert check[:2] == ["symcheck", "check"]
    upload = steps[-1]
    assert "if: always()" in upload  # the report is kept when the check fails the job
    junit = check[check.index("--junit") + 1]
    assert f"path: {junit}" in upload

    r = cli(*check[1:])
    assert r.exit_code == 0, r.output
    assert "PASS: 2 passed, 0 failed, 0 errors" in r.stdout
    assert "::error" not in r.stdout  # --github annotates failures only
    suite = ET.parse(ci_project / junit).getroot().find("testsuite")
    assert suite is not None
    assert [c.get("name") for c in suite.iter("testcase")] == ["attention", "positional"]


def test_workflow_run_line_fails_the_build_on_a_broken_symmetry(
    cli: Callable[..., CliResult], ci_project: Path
) -> None:
    run_line = next(s for s in workflow_steps() if s.startswith("- run: symcheck"))
    config = ci_project / "pyproject.toml"
    config.write_text(config.read_text() + "\n" + (CI / "broken.toml").read_text().replace(
        "[[check]]", "[[tool.symcheck.check]]"))
    r = cli(*shlex.split(run_line.removeprefix("- run: "))[1:])
    assert r.exit_code == 1
    assert r.stdout.count("::error ") == 1
    root = ET.parse(ci_project / "symcheck.xml").getroot()
    assert root.find("testsuite/testcase/failure") is not None


def test_quoted_annotation_is_what_symcheck_prints(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CI)
    r = cli("check", "--config", "broken.toml", "--github")
    assert r.exit_code == 1
    assert readme_blocks()["annotation"] in r.stdout.splitlines()


def test_quoted_config_error_is_what_symcheck_prints(
    cli: Callable[..., CliResult], ci_project: Path
) -> None:
    config = ci_project / "pyproject.toml"
    config.write_text(config.read_text().replace('groups = ["O(d)", "S(n)"]',
                                                 'group = ["O(d)", "S(n)"]'))
    r = cli("check")
    assert r.exit_code == 2
    assert r.stderr.strip() == readme_blocks()["config-error"]


def test_pytest_example(pytester: pytest.Pytester) -> None:
    shutil.copy(CI / "models.py", pytester.path / "models.py")
    pytester.makepyfile(test_symmetry=readme_blocks()["test_symmetry.py"])
    # symcheck is already imported by this session, so the inner one cannot rewrite it
    pytester.makeini("[pytest]\nfilterwarnings = ignore::pytest.PytestAssertRewriteWarning\n")
    # hypothesis's plugin is skipped: importing it again in the inner run is slow
    pytester.runpytest("-p", "no:hypothesispytest", "--symcheck-trials", "5").assert_outcomes(
        passed=3)


#: the failing tests whose pytest output docs/ci.md quotes (the line each quote shows with '>')
FAILING = """from models import positional_attention


def test_positional_attention(symcheck_equivariance):
    symcheck_equivariance(positional_attention, "n d", "n d", "S(n)", {"n": 6, "d": 5})


def test_positional_attention_at_both_precisions(symcheck_equivariance):
    symcheck_equivariance(positional_attention, "n d", "n d", "S(n)", {"n": 6, "d": 5},
                          dtypes=("float64", "float32"))
"""


def test_quoted_fixture_failures_are_what_pytest_prints(pytester: pytest.Pytester) -> None:
    shutil.copy(CI / "models.py", pytester.path / "models.py")
    pytester.makepyfile(test_models=FAILING)
    pytester.makeini("[pytest]\nfilterwarnings = ignore::pytest.PytestAssertRewriteWarning\n")
    result = pytester.runpytest("-p", "no:hypothesispytest")
    result.assert_outcomes(failed=2)
    printed = [line.rstrip() for line in result.outlines]
    for name in ("fixture-failure", "dtypes-failure"):
        quoted = readme_blocks()[name].splitlines()
        starts = [i for i, line in enumerate(printed) if line == quoted[0]]
        assert any(printed[i:i + len(quoted)] == quoted for i in starts), (name, printed)
    # symcheck's own frames are hidden: the traceback shows the test's line only
    assert "symcheck/api.py" not in result.stdout.str()
