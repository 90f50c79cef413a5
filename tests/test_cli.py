"""The command line: help, exit codes, reports, JSON, replay, and a table of bad inputs."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from symcheck.api import check_equivariance
from symcheck.sources.python import load_python
from tests.conftest import ROOT, SAMPLES, CliResult

Cli = Callable[..., CliResult]
GOLDEN = Path(__file__).parent / "golden"


def test_root_help_lists_commands(cli: Cli) -> None:
    r = cli("--help")
    assert r.exit_code == 0
    assert "equivariance" in r.stdout


def test_equivariance_help_lists_every_option(cli: Cli) -> None:
    r = cli("equivariance", "--help")
    assert r.exit_code == 0
    for option in ("--in", "--out", "--group", "--size", "--trials", "--seed", "--rtol",
                   "--json", "--inputs", "--dtype", "--case", "--debug"):
        assert option in r.stdout, option


def test_version(cli: Cli) -> None:
    r = cli("--version")
    assert r.exit_code == 0 and r.stdout.startswith("symcheck ")


@pytest.mark.parametrize(
    ("sample", "code", "broken"),
    [
        ("attention.py", 0, []),
        ("learned_attention.py", 1, ["O(d)", "O(d) × S(n)"]),
        ("positional.py", 1, ["S(n)", "O(d) × S(n)"]),  # C(n) ⊂ S(n) adds no product factor
        ("pooling.py", 0, []),
        ("chiral.py", 1, ["O(d)"]),  # SO(d) ⊂ O(d): their product is O(d), no extra row
    ],
)
def test_samples_verdicts(cli: Cli, sample: str, code: int, broken: list[str]) -> None:
    r = cli("equivariance", SAMPLES / sample)
    assert r.exit_code == code, r.output
    if broken:
        assert f"FAIL: broken: {', '.join(broken)}" in r.stdout
        assert "replay the worst case: symcheck equivariance" in r.stdout
    elif sample == "pooling.py":  # no output axis is acted on: an invariance
        assert "PASS: invariant under O(d), S(n), O(d) × S(n)" in r.stdout
    else:
        assert "PASS: equivariant under" in r.stdout


def test_positional_report_shows_the_s_n_failure(cli: Cli) -> None:
    r = cli("equivariance", SAMPLES / "positional.py")
    rows = {line.split("|")[1].strip(): line for line in r.stdout.splitlines()
            if line.startswith("| ")}
    assert rows["S(n)"].rstrip(" |").endswith("FAIL")
    assert rows["O(d)"].rstrip(" |").endswith("PASS")
    assert rows["C(n)"].rstrip(" |").endswith("PASS")
    assert "seed 0" in r.stdout and "tolerance 1.0e-09" in r.stdout


def _normalise(text: str) -> str:
    """Mask round-off-level numbers, which legitimately differ between BLAS builds."""
    text = re.sub(r"\d\.\d\de-(1[0-9]|[2-9][0-9])", "<roundoff>", text)
    return re.sub(r"(?<![\w.])0(?= \|)", "<roundoff>", text)


def test_golden_report(cli: Cli) -> None:
    r = cli("equivariance", SAMPLES / "positional.py", "--trials", "5", "--seed", "3")
    got = _normalise(r.stdout.replace(str(SAMPLES), "samples"))
    golden = GOLDEN / "positional_seed3.txt"
    if os.environ.get("SYMCHECK_UPDATE_GOLDEN") == "1":
        golden.write_text(got)
    assert got == golden.read_text(), "report changed; review it, then re-record with " \
        "SYMCHECK_UPDATE_GOLDEN=1"


def test_json_matches_python_api(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    r = cli("equivariance", SAMPLES / "learned_attention.py", "--seed", "5", "--trials", "7",
            "--json", out)
    assert r.exit_code == 1
    payload = json.loads(out.read_text())
    assert payload["verdict"] == "fail" and payload["seed"] == 5 and payload["trials"] == 7
    assert payload["replay"].startswith("symcheck equivariance ")
    model = load_python(str(SAMPLES / "learned_attention.py")).obj
    api = check_equivariance(model, seed=5, trials=7).to_dict()
    for got, want in zip(payload["groups"], api["groups"], strict=True):
        assert got["group"] == want["group"] and got["verdict"] == want["verdict"]
        assert got["max"] == want["max"] and got["cases"] == want["cases"]


def test_json_to_stdout_keeps_stdout_pure(cli: Cli) -> None:
    r = cli("equivariance", SAMPLES / "attention.py", "--trials", "3", "--json", "-")
    assert r.exit_code == 0
    payload = json.loads(r.stdout)
    assert [g["group"] for g in payload["groups"]] == ["O(d)", "S(n)", "O(d) × S(n)"]
    assert "PASS" in r.stderr


def test_replay_command_reproduces_the_worst_case(cli: Cli, tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    cli("equivariance", SAMPLES / "positional.py", "--seed", "9", "--json", first)
    payload = json.loads(first.read_text())
    argv = shlex.split(payload["replay"])[2:]
    again = tmp_path / "again.json"
    r = cli("equivariance", *argv, "--json", again)
    assert r.exit_code == 1
    replayed = json.loads(again.read_text())
    worst_error = max(g["worst"]["error"] for g in payload["groups"] if g["verdict"] != "pass")
    assert len(replayed["groups"]) == 1
    assert replayed["groups"][0]["cases"][0]["error"] == worst_error


def test_cli_options_replace_the_declaration(cli: Cli) -> None:
    r = cli("equivariance", SAMPLES / "positional.py", "--group", "C(n)", "--size", "n=5",
            "--trials", "4")
    assert r.exit_code == 0
    assert "sizes n=5, d=16" in r.stdout


def test_inputs_file(cli: Cli, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    np.savez(data, x=rng.standard_normal((5, 16)), k=rng.standard_normal((2, 16)))
    r = cli("equivariance", SAMPLES / "attention.py", "--inputs", data, "--trials", "3")
    assert r.exit_code == 0, r.output
    assert "sizes n=5, m=2, d=16" in r.stdout


def test_subprocess_run_plain_text_and_exit_code() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "symcheck", "equivariance", "samples/positional.py", "--trials",
         "3"], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "\x1b[" not in proc.stdout  # not a terminal: no escape codes
    assert "| S(n)" in proc.stdout


BAD_MODELS = {
    "two.py": """
        import symcheck
        @symcheck.equivariant(inputs="n d", output="n d", groups="S(n)", sizes={"n": 3, "d": 2})
        def a(x): return x
        @symcheck.equivariant(inputs="n d", output="n d", groups="S(n)", sizes={"n": 3, "d": 2})
        def b(x): return x
    """,
    "raises.py": """
        def f(x): raise RuntimeError("model exploded")
    """,
    "shape.py": """
        def f(x): return x[:-1]
    """,
    "import_error.py": """
        import not_a_module_anywhere
    """,
    "plain.py": """
        def f(x): return x
    """,
    "text.npz": "not an archive",
}


@pytest.fixture
def bad_dir(tmp_path: Path) -> Path:
    for name, body in BAD_MODELS.items():
        (tmp_path / name).write_text(textwrap.dedent(body))
    np.savez(tmp_path / "rank3.npz", x=np.zeros((2, 3, 4)))
    np.savez(tmp_path / "five.npz", x=np.zeros((5, 3)))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}], dtype=object))
    return tmp_path


SPEC = ["--in", "n d", "--out", "n d", "--group", "S(n)", "--size", "n=4,d=3"]
BAD_INPUTS = [
    # (arguments, words the one-line message must contain)
    (["missing.py"], "does not exist"),
    (["plain.py:nope", *SPEC], "has no callable named 'nope'"),
    (["two.py"], "declares 2 checked callables"),
    (["plain.py", "--in", "n d e", "--out", "n d", "--group", "S(n)", "--size", "n=4,d=3"],
     "no size for 'e'"),
    (["plain.py", *SPEC[:4], "--group", "U(d)", "--size", "n=4,d=3"], "unknown group 'U(d)'"),
    (["plain.py", *SPEC[:4], "--group", "O(k)", "--size", "n=4,d=3"], "appears in no spec"),
    (["plain.py", *SPEC[:6], "--size", "n=4"], "no size for 'd'"),
    (["raises.py", *SPEC], "raised RuntimeError: model exploded"),
    (["shape.py", *SPEC],
     "--out: model 'f' output 0 has shape (3, 3), but its spec 'n d' expects (4, 3)"),
    (["import_error.py", *SPEC], "raised ModuleNotFoundError"),
    (["plain.py", *SPEC[:6], "--size", "n=four"], "'four' is not an integer"),
    (["plain.py", *SPEC[:6], "--size", "n:4"], "not of the form label=integer"),
    (["plain.py", *SPEC, "--trials", "0"], "--trials: 0 must be at least 1"),
    (["plain.py", *SPEC, "--seed", "-1"], "--seed: -1 must be at least 0"),
    (["plain.py", *SPEC, "--dtype", "float8"], "--dtype: 'float8'"),
    (["plain.py", *SPEC, "--rtol", "-1"], "--rtol: -1.0 must be a finite number greater than 0"),
    (["plain.py", *SPEC, "--inputs", "nothing.npz"], "does not exist"),
    (["plain.py", *SPEC, "--inputs", "text.npz"], "cannot read"),
    (["plain.py", *SPEC, "--inputs", "rank3.npz"], "has rank 2 but the array has shape (2, 3, 4)"),
    (["plain.py", *SPEC, "--inputs", "five.npz"], "--size: n=4, but a fixed input"),
    (["plain.py", *SPEC, "--inputs", "objects.npz"], "holds an array that needs unpickling"),
    (["plain.py", *SPEC, "--case", "S(n)/haar:99"], "no case 'haar:99'"),
    (["plain.py", *SPEC, "--case", "nonsense"], "is not GROUP/CASE"),
    (["plain.py", *SPEC, "--json", "no/such/dir/out.json"], "does not exist"),
    (["plain.py", "--trials", "x"], "Invalid value for '--trials'"),
    (["plain.py", "--in", "n d", "--out", "n d", "--size", "n=4,d=3"], "--group: no group"),
    (["plain.py", "--out", "n d", "--group", "S(n)"], "--in: no input spec"),
    (["plain.py", "--in", "n-d", "--out", "n d", "--group", "S(n)"], "has the label 'n-d'"),
    (["plain.py", *SPEC, "--size", "N=64"], "--size: N=64 names 'N', which appears in no spec"),
    ([".", *SPEC], "is a directory"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line(
    cli: Cli, bad_dir: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(bad_dir)
    before = sorted(p.name for p in bad_dir.rglob("*"))
    r = cli("equivariance", *args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("symcheck: error: ")
    assert message in lines[0], lines[0]
    assert "Traceback" not in r.output
    after = sorted(p.name for p in bad_dir.rglob("*") if "__pycache__" not in str(p))
    assert [p for p in after if p not in before] == []  # no partial output files


def test_debug_shows_the_traceback(
    cli: Cli, bad_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(bad_dir)
    r = cli("equivariance", "raises.py", *SPEC, "--debug")
    assert r.exit_code == 2
    assert "Traceback" in r.stderr and "model exploded" in r.stderr


TOKENS = textwrap.dedent(
    """
    import numpy as np
    import symcheck


    @symcheck.equivariant(inputs="b n d", output="b n d", groups=["O(d)", "S(n)", "C(n)"],
                          sizes={"b": 2, "n": 6, "d": 5})
    def pairs(x):
        if x.shape[-2] < 2:
            raise ValueError(MESSAGE)
        s = x @ np.swapaxes(x, -1, -2)
        w = np.exp(s - s.max(-1, keepdims=True))
        return (w / w.sum(-1, keepdims=True)) @ x
    """
)


@pytest.mark.parametrize(("message", "shown"), [
    ('"needs two tokens"', ": needs two tokens"),
    # the message differs between group checks (the batch of each is stacked along b): the
    # first group's is shown, and said to be that group's
    ('f"needs two tokens, got {x.shape}"', "; in O(d): needs two tokens, got (6, 1, 5)"),
])
def test_a_refused_size_probe_is_one_note_for_every_group_check(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, message: str,
        shown: str) -> None:
    monkeypatch.chdir(tmp_path)  # the model's path is shown relative to here
    (tmp_path / "tokens.py").write_text(TOKENS.replace("MESSAGE", message))
    r = cli("equivariance", "tokens.py", "--trials", "3", "--json", "r.json")
    assert r.exit_code == 0, r.output
    notes = [line for line in r.stdout.splitlines() if line.startswith("note: ")]
    assert notes == ["note: size probe n = 1 not counted: the model raised ValueError at "
                     f"tokens.py:10 in all 4 group checks{shown}"]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["notes"] == [notes[0].removeprefix("note: ")]
    first = report["groups"][0]["notes"]  # each group check keeps its own, in the JSON
    assert first == ["the model does not accept n = 1: ValueError at tokens.py:10: "
                     f"{shown.split(': ', 1)[1]}"]
