"""The architecture as a test: the import-layer contract in pyproject.toml, the doors, and the
wording of errors by the door that shows them."""

from __future__ import annotations

import ast
import inspect
import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
import tokenize
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT, "--config", str(root / "pyproject.toml")], cwd=root,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(root)})


def test_import_layers_are_kept() -> None:
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_the_core_importing_the_cli_breaks_the_contract(tmp_path: Path) -> None:
    """A negative control: the contract is not vacuous."""
    shutil.copytree(ROOT / "symcheck", tmp_path / "symcheck",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    specs = tmp_path / "symcheck" / "core" / "specs.py"
    specs.write_text(specs.read_text() + "\n\ndef _bad() -> None:\n    import symcheck.cli\n")
    r = _lint(tmp_path)
    assert r.returncode != 0
    assert "symcheck.core.specs -> symcheck.cli" in r.stdout


#: string tests that took case labels and group-set names apart again: a case is a
#: :class:`~symcheck.core.caseid.CaseId`, read from text only by ``CaseId.parse``
LABEL_PARSING = re.compile(
    r"""startswith\(\(?["'](?:haar|identity|size|input|probe|search|calibrate)\b"""
    r"""|removeprefix\(["']size|["'] x ["']|\.split\(["']:["']\)|rpartition\(["']/["']\)"""
    r"""|\b_probe_of\b|\b_kind\(|_split_case"""
)
#: (file, line text) that match for another reason: an error message split in a doctest
NOT_LABELS = {("symcheck/backends/torch_backend.py", '>>> e.message.split(":")[0]')}


def label_parsing(path: str, text: str, skip: range = range(0)) -> list[str]:
    """``path:line: text`` of each line of ``text`` that takes a case label apart."""
    return [f"{path}:{k}: {line.strip()}" for k, line in enumerate(text.splitlines(), 1)
            if k not in skip and LABEL_PARSING.search(line)
            and (path, line.strip()) not in NOT_LABELS]


def test_no_case_label_is_taken_apart_outside_its_parse() -> None:
    from symcheck.core.caseid import CaseId

    lines, first = inspect.getsourcelines(CaseId.parse.__func__)  # type: ignore[attr-defined]
    parse = range(first, first + len(lines))
    found = []
    for file in sorted((ROOT / "symcheck").rglob("*.py")):
        path = file.relative_to(ROOT).as_posix()
        found += label_parsing(path, file.read_text(encoding="utf-8"),
                               parse if path == "symcheck/core/caseid.py" else range(0))
    assert not found, "case labels parsed as strings:\n" + "\n".join(found)


@pytest.mark.parametrize("line", [
    'if r.case.startswith("haar:"):', 'probe = label.split(":")[1]',
    'kind.removeprefix("size ")', 'name = part.replace(" x ", " × ")',
    'group, _, case = text.rpartition("/")', 'family = _kind(e.result.case)',
    "if c.startswith(('input:', 'size:')):",
])
def test_the_label_parsing_scan_finds_a_planted_one(line: str) -> None:
    """A negative control: the scan is not vacuous."""
    assert label_parsing("symcheck/engine/x.py", f"x = 1\n    {line}\n") == [
        f"symcheck/engine/x.py:2: {line}"]


def test_the_python_api_imports_neither_typer_nor_rich() -> None:
    code = textwrap.dedent("""
        import sys, numpy as np, symcheck
        symcheck.check_equivariance(np.tanh, "n d", "n d", ["S(n)"], {"n": 3, "d": 2})
        print(sorted(m for m in ("typer", "rich", "click") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_a_missing_size_names_the_argument_of_each_door(tmp_path: Path) -> None:
    import symcheck
    from symcheck.core.errors import SpecError

    with pytest.raises(SpecError) as info:
        symcheck.check_equivariance(np.tanh, "n d", "n d", ["S(n)"], {"n": 3})
    message = str(info.value)
    assert message.startswith("sizes: no size for 'd'") and "sizes={'d': 8}" in message
    assert "--size" not in message

    from symcheck.app.config import CONFIG
    from symcheck.cli.common import CLI

    assert info.value.worded(CLI).endswith("pass e.g. --size d=8")
    assert info.value.worded(CONFIG).endswith("pass e.g. sizes = { d = 8 }")


# --- No module outside the command line names one of its flags -----------------------------
#
# The command line's options are its own spelling of the arguments (STYLE.md point 10): a
# library module names an argument by its Python name and the door words it. The check reads
# the string literals and comments of every module outside symcheck/cli/ (docstrings
# included) as the tokenizer gives them. One exception: the pytest plugin registers options of
# pytest's own command line, and may name exactly the options it registers.

FLAG = re.compile(r"--[a-z]")
PLUGIN = ROOT / "symcheck" / "pytest_plugin.py"


def _texts(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal and comment of ``source``."""
    kinds = {tokenize.STRING, tokenize.COMMENT}
    kinds |= {getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}  # f-strings, Python 3.12+
    return [(t.start[0], t.string) for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type in kinds]


def _own_pytest_options(source: str) -> set[str]:
    """The options a module registers with pytest (``addoption("--name", ...)``)."""
    return {call.args[0].value for call in ast.walk(ast.parse(source))
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "addoption" and call.args
            and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)}


def _flags_named(package: Path) -> list[str]:
    """``path:line: text`` for every flag a module outside ``package/cli`` names."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if (package / "cli") in path.parents:
            continue
        source = path.read_text(encoding="utf-8")
        allowed = _own_pytest_options(source) if path.name == PLUGIN.name else set()
        for line, text in _texts(source):
            rest = text
            for option in sorted(allowed, key=len, reverse=True):
                rest = rest.replace(option, "")
            if FLAG.search(rest):
                found.append(f"{path.relative_to(package.parent)}:{line}: {text.strip()[:80]}")
    return found


def test_no_module_outside_the_cli_names_a_cli_flag() -> None:
    assert _flags_named(ROOT / "symcheck") == []
    # the plugin's exception is exactly its own two options
    assert _own_pytest_options(PLUGIN.read_text()) == {"--symcheck-seed", "--symcheck-trials"}


@pytest.mark.parametrize("planted", [
    'raise SpecError(f"--heads: {heads} must be at least 1")',
    "x = 1  # rerun with --no-batch",
    '"""Docstring: pass --layer NAME."""',
    'note = "--symcheck-seed"  # not the plugin: not its option',
])
def test_a_planted_flag_is_caught(tmp_path: Path, planted: str) -> None:
    """Negative controls: a copy of the package with one flag planted in a library module."""
    shutil.copytree(ROOT / "symcheck", tmp_path / "symcheck",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "symcheck" / "sources" / "weights" / "check.py"
    target.write_text(target.read_text() + "\n\n" + planted + "\n")
    found = _flags_named(tmp_path / "symcheck")
    assert len(found) == 1 and found[0].startswith("symcheck/sources/weights/check.py:"), found


def test_the_plugin_may_name_only_its_own_options(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "symcheck", tmp_path / "symcheck",
                    ignore=shutil.ignore_patterns("__pycache__"))
    plugin = tmp_path / "symcheck" / "pytest_plugin.py"
    plugin.write_text(plugin.read_text() + '\n\nHINT = "rerun with --no-batch"\n')
    assert [f.split(": ", 1)[1] for f in _flags_named(tmp_path / "symcheck")] == [
        '"rerun with --no-batch"']


def test_a_hint_naming_an_argument_is_worded_by_each_door() -> None:
    """The same structured text, in the words of the Python API and of the command line."""
    from symcheck.app.config import CONFIG
    from symcheck.cli.common import CLI
    from symcheck.core.errors import Metavar, Phrase, SpecError, Use, say, speaking

    note = Phrase("rerun with ", Use("batch", False))
    assert (note, say(note, CLI), say(note, CONFIG)) == (
        "rerun with batch=False", "rerun with --no-batch", "rerun with batch = False")
    with speaking(CLI):
        assert (str(note), f"[{note}]") == ("rerun with --no-batch", "[rerun with --no-batch]")
    assert str(note) == "rerun with batch=False"  # the door's wording ends with its block
    error = SpecError("'m.pt' does not say how many attention heads it has", argument="heads",
                      hint=Phrase("pass ", Use("heads", Metavar("H")), " or put a config.json"))
    assert str(error) == ("heads: 'm.pt' does not say how many attention heads it has; "
                          "pass heads=H or put a config.json")
    assert error.worded(CLI) == ("--heads: 'm.pt' does not say how many attention heads it has; "
                                 "pass --heads H or put a config.json")


def test_a_model_error_offers_the_traceback_only_where_the_door_has_one() -> None:
    import symcheck
    from symcheck.cli.common import CLI
    from symcheck.core.errors import ModelError

    def broken(x: np.ndarray) -> np.ndarray:
        raise ValueError("boom")

    with pytest.raises(ModelError) as info:
        symcheck.check_equivariance(broken, "n d", "n d", ["S(n)"], {"n": 3, "d": 2})
    assert "ValueError: boom" in str(info.value) and "traceback" not in str(info.value)
    assert info.value.__cause__ is not None  # Python shows the model's traceback itself
    assert info.value.worded(CLI).endswith("(--debug shows the traceback)")


def test_a_result_note_reads_as_a_keyword_in_python_and_as_a_flag_on_the_command_line(
        cli: Callable[..., Any]) -> None:
    from symcheck.sparse import approximate

    band = ROOT / "samples" / "sparse" / "band.npy"
    result = approximate(str(band), method="poly", max_d=1)
    assert [m.note for m in result.methods] == ["2k = 10 is above max_d=1"]
    r = cli("sparse-approx", band, "--method", "poly", "--max-d", "1")
    assert "2k = 10 is above --max-d 1" in r.stdout and "max_d" not in r.stdout


def test_the_check_gate_offers_its_own_debug_option(cli: Callable[..., Any], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.py").write_text("def f(x):\n    raise ValueError('boom')\n")
    (tmp_path / "symcheck.toml").write_text(
        '[[check]]\nname = "r"\nmodel = "m.py:f"\ninputs = "n d"\noutput = "n d"\n'
        'groups = "S(n)"\nsizes = { n = 3, d = 2 }\n')
    monkeypatch.chdir(tmp_path)
    r = cli("check")
    assert r.exit_code == 1 and "ValueError: boom" in r.stdout
    assert "(--debug shows the traceback)" in r.stdout

# The modules `symcheck equivariance samples/positional.py` imports (CONTRIBUTING.md, "The walk
# of one run"): a new import on this path is a change to the walk, made knowingly.
WALK = {
    "symcheck", "symcheck.app", "symcheck.app.model_runner", "symcheck.app.outcomes",
    "symcheck.app.requests", "symcheck.app.service", "symcheck.backends", "symcheck.cli",
    "symcheck.cli.check", "symcheck.cli.common", "symcheck.cli.equivariance", "symcheck.cli.form",
    "symcheck.cli.replay", "symcheck.cli.sparse", "symcheck.core", "symcheck.core.caseid",
    "symcheck.core.errors", "symcheck.core.files", "symcheck.core.groups", "symcheck.core.irreps",
    "symcheck.core.memory", "symcheck.core.options", "symcheck.core.reps",
    "symcheck.core.signature", "symcheck.core.specs", "symcheck.core.tolerances",
    "symcheck.core.verdicts", "symcheck.engine", "symcheck.engine.cases",
    "symcheck.engine.equivariance", "symcheck.engine.evaluate", "symcheck.engine.precision",
    "symcheck.engine.problem", "symcheck.report", "symcheck.report.equivariance",
    "symcheck.sources", "symcheck.sources.python",
}


def test_the_walk_imports_what_it_says() -> None:
    code = ("import json, sys\n"
            "sys.argv = ['symcheck', 'equivariance', 'samples/positional.py']\n"
            "from symcheck.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(m for m in sys.modules\n"
            "                        if m == 'symcheck' or m.startswith('symcheck.'))),\n"
            "      file=sys.stderr)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    imported = set(json.loads(run.stderr.strip().splitlines()[-1]))
    assert imported == WALK, (f"new: {sorted(imported - WALK)}, gone: {sorted(WALK - imported)}"
                              " (update the walk in CONTRIBUTING.md and WALK)")


_PROFILE = """
import json, os, sys
sys.argv = ['symcheck', 'equivariance', 'samples/positional.py']
import symcheck.cli as cli
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(cli.__file__)))

def module(code):
    path = code.co_filename
    if not path.startswith(os.path.join(ROOT, 'symcheck') + os.sep):
        return None
    return os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.').removesuffix('.__init__')

def importing(frame):
    while frame is not None:
        if frame.f_code.co_name == '<module>' and module(frame.f_code):
            return True
        frame = frame.f_back
    return False

through = set()

def profile(frame, event, arg):
    if event != 'call' or frame.f_code.co_name == '<module>':
        return
    callee = module(frame.f_code)
    if callee is None or importing(frame):
        return
    caller = frame.f_back
    while caller is not None and module(caller.f_code) is None:
        caller = caller.f_back
    if caller is not None and module(caller.f_code) != callee:
        through.add(module(caller.f_code))

sys.setprofile(profile)
try:
    cli.main()
except SystemExit:
    pass
sys.setprofile(None)
print(json.dumps(sorted(through)), file=sys.stderr)
"""


def _listed_walk() -> list[str]:
    text = (ROOT / "CONTRIBUTING.md").read_text().split("## The walk of one run", 1)[1]
    steps = re.findall(r"^\d+\. `([\w/]+)\.py`", text, flags=re.MULTILINE)
    return ["symcheck." + s.replace("/", ".").removesuffix(".__init__") for s in steps]


def test_the_walk_passes_through_the_listed_modules() -> None:
    """The numbered walk in CONTRIBUTING.md is the set of modules that hand the run on to
    another module (measured by a profiler, calls made at import time left out), at most 20."""
    run = subprocess.run([sys.executable, "-c", _PROFILE], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    through = set(json.loads(run.stderr.strip().splitlines()[-1]))
    listed = _listed_walk()
    assert len(listed) <= 20 and len(set(listed)) == len(listed)
    assert through == set(listed), (f"not listed: {sorted(through - set(listed))}, "
                                    f"listed but not passed: {sorted(set(listed) - through)}")


# --- Specs and group names are parsed once, where they enter ------------------------------
#
# A spec ("n d") or a group name ("O(d)") is read into a value (AxisSpec, GroupName) by the
# door it comes through; everything inward carries that value and writes it with str() only
# to show it. The scan lists each call of a parsing function, and each split of a product
# name, outside the parsing functions themselves and the doors.

#: the functions that read spec or group text
SPEC_PARSERS = {"AxisSpec.parse", "GroupName.parse", "cls.parse", "Signature.parse",
                "Declared.parse", "parse_specs", "parse_groups", "parse_group"}
#: (module, function) allowed to call them: the parsers, and the doors (the command line
#: lives in symcheck/cli/ and is a door throughout)
SPEC_DOORS = {
    ("symcheck/core/specs.py", "parse"),  # a NAME=SPEC spec parses its body
    ("symcheck/core/groups.py", "parse_group"),
    ("symcheck/core/signature.py", "parse"),
    ("symcheck/core/signature.py", "parse_specs"),
    ("symcheck/core/signature.py", "parse_groups"),
    ("symcheck/core/signature.py", "equivariant"),  # the decorator
    ("symcheck/app/requests.py", "parse"),
    ("symcheck/api.py", "_declared"),  # the Python API
    ("symcheck/app/config.py", "_specs"),  # the configuration file
    ("symcheck/app/config.py", "_groups"),
    ("symcheck/app/replay_runner.py", "run_replay"),  # a counterexample's metadata
    ("symcheck/sources/weights/check.py", "run_unit"),  # a checkpoint's layout
    ("symcheck/sources/weights/check.py", "_run_unit_explicit"),
    ("symcheck/sources/weights/check.py", "check_layer"),  # a Python caller of the library
    ("symcheck/sources/weights/stack.py", "check_stack"),
}


def _called(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        return f"{f.value.id}.{f.attr}"
    return ""


def _splits_a_product(node: ast.Call) -> bool:
    f = node.func
    return (isinstance(f, ast.Attribute) and f.attr in ("split", "partition", "rpartition")
            and any(isinstance(a, ast.Constant) and isinstance(a.value, str)
                    and a.value.strip() in ("×", "x") for a in node.args))


def spec_parsing(path: str, source: str) -> list[str]:
    """``path:line: function`` of each parse of spec or group text outside a door, and of
    each split of a product name anywhere."""
    found: list[str] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                     else function)
            if isinstance(child, ast.Call):
                name = _called(child)
                if ((name in SPEC_PARSERS and not path.startswith("symcheck/cli/")
                     and (path, function) not in SPEC_DOORS) or _splits_a_product(child)):
                    found.append(f"{path}:{child.lineno}: {function or '<module>'}: "
                                 f"{ast.unparse(child.func)}")
            visit(child, inner)

    visit(ast.parse(source), "")
    return found


def test_specs_and_group_names_are_parsed_only_at_the_doors() -> None:
    found = []
    for file in sorted((ROOT / "symcheck").rglob("*.py")):
        path = file.relative_to(ROOT).as_posix()
        found += spec_parsing(path, file.read_text(encoding="utf-8"))
    assert not found, "spec or group text parsed inside:\n" + "\n".join(found)


@pytest.mark.parametrize("line", [
    'labels = AxisSpec.parse(text, "inputs").labels',
    "symbol, label = GroupName.parse(text)",
    'g = parse_group("O(d)", sizes)',
    'names = group.split(" × ")',
    'first, _, rest = name.partition(" x ")',
    "s = Signature.parse(inputs, outputs, groups)",
])
def test_the_spec_parsing_scan_finds_a_planted_one(line: str) -> None:
    """A negative control: the scan finds a parse inside the engine, and a door's own
    function name does not excuse it in another module."""
    source = f"def _declared(text, group, name, sizes, inputs, outputs, groups):\n    {line}\n"
    assert len(spec_parsing("symcheck/engine/x.py", source)) == 1
    splits = "split" in line or "partition" in line
    assert len(spec_parsing("symcheck/api.py", source)) == (1 if splits else 0)
