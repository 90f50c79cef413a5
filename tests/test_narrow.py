"""Narrow terminals: on an 80- or 60-column terminal, and in a pipe read on one, every table
of every command fits, no number, exponent or verdict is cut to ``3.31e-…``, and no column is
dropped: a table that does not fit is turned or stacked, a long note leaves the table for lines
of its own.

Each command runs once as the real console script on a pseudo-terminal (``script -qc "stty cols
80; …"``), and in-process on rich consoles 80 and 60 columns wide; a narrow terminal shows every
number, verdict and column header a wide one shows. The pipe runs under a pseudo-terminal made
with :mod:`pty` that is the command's controlling terminal, COLUMNS unset.
"""

from __future__ import annotations

import collections
import functools
import io
import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, CliResult

Cli = Callable[..., CliResult]
BERT = "samples/weights/bert/model.safetensors"
FAST = ["--trials", "4"]
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SCIENTIFIC = re.compile(r"\d\.\d+e[-+]\d\d")
CUT_NUMBER = re.compile(r"\d\.\d+e(?![-+]\d\d)")  # a mantissa whose exponent went missing
VERDICT = re.compile(r"\b(?:PASS|FAIL|yes|n/a)\b")
# rich marks what it cut with "…"; the one "…" that is text: a whole stack's name, "stack of 2
# layers (encoder.layer.0 … encoder.layer.1)"
STACK_NAME = re.compile(r"layers \(\S+ …")

#: name -> (arguments, run from the repository root; words that must appear: the verdicts)
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "equivariance": (["equivariance", "samples/positional.py", *FAST], ["PASS", "FAIL"]),
    "weights-breakdown": (["equivariance", BERT, "--breakdown", *FAST], ["PASS", "FAIL", "n/a"]),
    "weights-fixed": (["equivariance", BERT, "--weights", "fixed", "--breakdown", *FAST],
                      ["PASS", "FAIL"]),
    "weights-causes": (["equivariance", BERT, "--group", "O(d)", "--component", "block", *FAST],
                       ["FAIL", "caused by"]),
    "weights-stack": (["equivariance", BERT, "--layer", "all", "--fold-norms", "--group", "O(d)",
                       *FAST], ["FAIL", "not folded"]),
    "form": (["form", "samples/kernels/exponential.py:asymmetric", "--weights", "fixed"],
             ["PASS", "FAIL", "FAILS"]),
    "form-layernorm": (["form", "samples/kernels/controls.py:layernorm"], ["FAIL", "no"]),
    "sparse-approx": (["sparse-approx", "samples/sparse/random_k4.npz", "--precision", "0.1"],
                      ["precision met"]),
    "sparse-sweep": (["sparse-sweep", "random", "--k", "4", "--lengths", "16,32", "--seeds", "1"],
                     ["smallest verified d", "slope"]),
    "check": (["check", "--config", "samples/ci/pyproject.toml"], ["PASS", "2 passed"]),
    "check-broken": (["check", "--config", "samples/ci/broken.toml"], ["FAIL", "1 failed"]),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved counterexample and saved sparse parameters, for replay and --verify."""
    folder = tmp_path_factory.mktemp("narrow")
    for args in (["equivariance", "samples/positional.py", *FAST, "--save-counterexample",
                  str(folder / "case.npz")],
                 ["sparse-approx", "samples/sparse/random_k4.npz", "--precision", "0.1",
                  "--save", str(folder / "params.npz")]):
        subprocess.run([str(_exe()), *args], cwd=ROOT, capture_output=True, timeout=120)
    assert (folder / "case.npz").exists() and (folder / "params.npz").exists()
    return folder


def _commands(saved: Path) -> dict[str, tuple[list[str], list[str]]]:
    return {**COMMANDS,
            "replay": (["replay", str(saved / "case.npz")], ["FAIL", "still broken"]),
            "sparse-verify": (["sparse-approx", "samples/sparse/random_k4.npz", "--verify",
                               str(saved / "params.npz")], ["claim holds"])}


NAMES = [*COMMANDS, "replay", "sparse-verify"]

GROUP_TABLE = ["group", "cases", "max error", "median", "p99", "noise floor", "verdict"]
SPARSE_TABLE = ["method", "d", "seed", "ε₁", "ε₂", "success", "time", "note"]
#: name -> the header of every column of every table the command prints: each must be shown
#: (as a header, a row label or a "header: value" line), whatever the width
HEADERS: dict[str, list[str]] = {
    "equivariance": [*GROUP_TABLE, "tolerance"],
    "weights-breakdown": [*GROUP_TABLE, "component / part", "S(n)", "O(d) co-transformed",
                          "O(d) fixed"],
    "weights-fixed": [*GROUP_TABLE, "component / part", "S(n)", "O(d) fixed"],
    "weights-causes": GROUP_TABLE,
    "weights-stack": GROUP_TABLE,
    "form": ["diagnostic", "value", "tolerance", "verdict", "meaning"],
    "form-layernorm": ["diagnostic", "value", "tolerance", "verdict", "meaning"],
    "sparse-approx": [*SPARSE_TABLE, "seeds ok", "best ε₁", "best ε₂"],
    "sparse-sweep": ["L", "log₂ L", "max nnz/row", "jl (paper)", "opt (fit)", "poly (2k)",
                     "time"],
    "check": ["check", "kind", "max error / result", "seconds", "verdict"],
    "check-broken": ["check", "kind", "max error / result", "seconds", "verdict"],
    "replay": [],
    "sparse-verify": ["quantity", "recomputed", "target", "claimed in file"],
}


def _exe() -> Path:
    return Path(sys.executable).with_name("symcheck")


def screen(raw: str) -> list[str]:
    """What a terminal shows: ANSI codes stripped, each carriage return overwriting its line
    (the transient progress line of sparse-approx)."""
    text = _ANSI.sub("", raw).replace("\r\n", "\n")
    return [line.rsplit("\r", 1)[-1] for line in text.split("\n")]


def assert_fits(lines: list[str], width: int, words: list[str]) -> None:
    from rich.cells import cell_len

    text = "\n".join(lines)
    assert "…" not in STACK_NAME.sub("", text), text
    assert "dropped" not in text, text
    assert not CUT_NUMBER.findall(text), text
    for word in words:
        assert word in text, f"{word!r} missing:\n{text}"
    wide = [line for line in lines if cell_len(line) > width]
    assert not wide, f"{len(wide)} lines wider than {width}:\n" + "\n".join(wide)


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
@pytest.mark.parametrize("name", NAMES)
def test_an_80_column_terminal_shows_every_exponent(name: str, saved: Path) -> None:
    args, words = _commands(saved)[name]
    command = f"stty cols 80; {shlex.quote(str(_exe()))} {shlex.join(args)}"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    out = subprocess.run(["script", "-qc", command, "/dev/null"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**env, "TERM": "xterm"})
    lines = screen(out.stdout)
    assert name == "sparse-sweep" or SCIENTIFIC.search("\n".join(lines)), "\n".join(lines)
    assert_fits(lines, 80, words)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch, cli: Cli) -> Callable[..., list[str]]:
    """``terminal(60, *args)``: the lines a 60-column terminal shows for ``symcheck *args``."""
    from rich.console import Console

    import symcheck.report as report

    def run(width: int, *args: str) -> list[str]:
        buffer = io.StringIO()
        console = functools.partial(Console, file=buffer, force_terminal=True, width=width,
                                    color_system=None)
        monkeypatch.setattr(report, "_console_class", lambda: console)
        monkeypatch.chdir(ROOT)
        cli(*args)
        return screen(buffer.getvalue())

    return run


def _tokens(lines: list[str]) -> set[str]:
    """The words a reader sees, box drawing and the progress spinner left out, "header:" read
    as "header"."""
    text = re.sub(r"[│|╭╮╰╯├┤┬┴┼─+\u2800-\u28ff]", " ", "\n".join(lines))
    return {word.rstrip(":") for word in text.split() if not re.fullmatch(r"-+", word)}


def _words_of(lines: list[str]) -> set[str]:
    """The words without digits (a time's change from run to run)."""
    return {word for word in _tokens(lines) if not re.search(r"\d", word)}


def assert_nothing_lost(narrow: list[str], wide: list[str], name: str) -> None:
    """Every number, verdict, word and column header of the wide output is in the narrow one."""
    text, full = "\n".join(narrow), "\n".join(wide)
    assert collections.Counter(SCIENTIFIC.findall(text)) == \
        collections.Counter(SCIENTIFIC.findall(full)), text
    assert collections.Counter(VERDICT.findall(text)) == \
        collections.Counter(VERDICT.findall(full)), text
    assert _words_of(wide) <= _words_of(narrow), _words_of(wide) - _words_of(narrow)
    missing = [h for h in HEADERS[name] if not set(h.split()) <= _tokens(narrow)]
    assert not missing, f"headers {missing} missing:\n{text}"


@pytest.mark.parametrize("name", NAMES)
def test_narrow_consoles_keep_every_number_and_column(terminal: Callable[..., list[str]],
                                                      saved: Path, name: str) -> None:
    args, words = _commands(saved)[name]
    wide = terminal(200, *args)
    for width in (80, 60):
        narrow = terminal(width, *args)
        assert_fits(narrow, width, words)
        assert_nothing_lost(narrow, wide, name)


# ------------------------------------------------------------ a pipe read on a terminal

#: name -> (arguments, exit code)
PIPED = {"equivariance": (["equivariance", "samples/positional.py"], 1),
         "weights-breakdown": (["equivariance", BERT, "--breakdown", *FAST], 1),
         "sparse-approx": (["sparse-approx", "samples/sparse/band.npy", "--precision", "0.1"], 0)}


def _on_a_terminal(command: str, columns: int, timeout: float = 180) -> tuple[int, list[str]]:
    """The exit code and the screen lines of ``bash -c command`` run in a new session whose
    controlling terminal is a pseudo-terminal ``columns`` wide (its stdin, stdout and stderr),
    COLUMNS unset."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    # the leader of the new session takes the terminal as its controlling one, then runs bash
    launch = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
              "os.execvp('bash', ['bash', '-c', sys.argv[1]])")
    proc = subprocess.Popen([sys.executable, "-c", launch, command], stdin=follower,
                            stdout=follower, stderr=follower, cwd=ROOT, start_new_session=True,
                            env={**env, "TERM": "xterm"})
    os.close(follower)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([leader], [], [], 1.0)[0]:
                continue
            try:
                data = os.read(leader, 1 << 16)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        else:
            pytest.fail(f"{command} did not finish within {timeout} s")
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    return code, screen(b"".join(chunks).decode())


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize("where", ["stderr", "/dev/tty"])
@pytest.mark.parametrize("name", list(PIPED))
def test_a_pipe_read_on_an_80_column_terminal_fits_it(name: str, where: str) -> None:
    """``symcheck … | cat`` in an 80-column terminal that bash did not export COLUMNS from: no
    line wider than 80, and every number, verdict and column of the log-width output."""
    pytest.importorskip("pty")
    args, exit_code = PIPED[name]
    command = f"{shlex.quote(str(_exe()))} {shlex.join(args)}"
    # with stderr and stdin away from the terminal, only /dev/tty says how wide it is
    hide = " 2>/dev/null </dev/null" if where == "/dev/tty" else ""
    code, lines = _on_a_terminal(f"set -o pipefail; {command}{hide} | cat", 80)
    assert code == exit_code, "\n".join(lines)
    wide = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True,
                          timeout=180, start_new_session=True,  # no controlling terminal
                          env={k: v for k, v in os.environ.items() if k != "COLUMNS"}).stdout
    assert max(map(len, wide.splitlines())) > 80, wide  # a log is not wrapped at 80
    words = ["PASS", "FAIL"] if name != "sparse-approx" else ["precision met"]
    assert_fits(lines, 80, words)
    assert not any("╭" in line for line in lines), "\n".join(lines)  # a pipe gets ASCII boxes
    assert_nothing_lost(lines, screen(wide), name)


# ------------------------------------------------------------------ the console's width


@pytest.mark.parametrize(("columns", "into", "tty", "width", "one_line"), [
    ("100", "pipe", 72, 100, True),   # COLUMNS says how wide tables are; a message per line
    (None, "pipe", 72, 72, False),    # a pipe read on a terminal: its width, messages wrapped
    (None, "pipe", None, 120, True),  # no terminal anywhere (CI): LOG_WIDTH, a message per line
    (None, "file", 72, 120, True),    # a file is a log, whatever terminal wrote it
])
def test_a_console_not_on_a_terminal_takes_the_width_of_its_reader(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, columns: str | None, into: str,
        tty: int | None, width: int, one_line: bool) -> None:
    import symcheck.report as report

    for name in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    if columns is not None:
        monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setattr(report, "terminal_width", lambda: tty)
    if into == "pipe":
        reader, writer = os.pipe()
        os.close(reader)
        stream = os.fdopen(writer, "w")
    else:
        stream = (tmp_path / "log").open("w")
    with stream:
        monkeypatch.setattr(sys, "stdout", stream)
        console = report.make_console()
        assert not console.is_terminal
        assert (console.width, console.soft_wrap) == (width, one_line)


# ------------------------------------------------------------------ the layout, unit by unit

GROUPS = [["O(d) × S(n)", "35", "8.27e-01", "5.44e-02", "8.04e-01", "1e-09", "0", "FAIL"],
          ["O(d)", "29", "4.41e-16", "2.28e-16", "4.28e-16", "1e-09", "0", "PASS"]]
GROUP_COLUMNS = ["cases", "max error", "median", "p99", "tolerance", "noise floor"]


def _render(width: int, columns: list[Any], rows: list[list[str]], **options: Any) -> str:
    from rich.console import Console

    from symcheck.report import print_table

    console = Console(width=width, file=io.StringIO(), force_terminal=False, color_system=None)
    with console.capture() as out:
        print_table(console, columns, rows, **options)
    return out.get()


def _groups(width: int) -> str:
    from symcheck.report import Column

    return _render(width, [Column("group", "left", "last"), *map(Column, GROUP_COLUMNS),
                           Column("verdict")], GROUPS)


def _layout(text: str) -> str:
    """Which layout ``print_table`` chose, from what it printed."""
    if "+-" not in text:
        return "stacked"
    if re.search(r"^\| time ", text, re.M):
        return "turned"
    return "below" if re.search(r"^note:$", text, re.M) else "table"


@pytest.mark.parametrize(("width", "layout", "marks"), [
    (200, "table", ["| group       | cases | max error |"]),
    (80, "turned", ["| group       | O(d) × S(n) |     O(d) |", "| max error   |    8.27e-01 |"]),
    (30, "stacked", ["group: O(d) × S(n)\n  cases: 35\n  max error: 8.27e-01\n",
                     "  verdict: PASS\n"]),
])
def test_a_table_that_does_not_fit_is_turned_or_stacked_never_cut(width: int, layout: str,
                                                                  marks: list[str]) -> None:
    from rich.cells import cell_len

    text = _groups(width)
    assert all(cell_len(line) <= width for line in text.splitlines()), text
    for mark in marks:
        assert mark in text, text
    cells = {cell for row in GROUPS for cell in row} | {"group", "verdict", *GROUP_COLUMNS}
    assert all(cell in text for cell in cells), text
    assert "…" not in text and not CUT_NUMBER.findall(text), text


NOTE = ("trigonometric keys of degree k = 5, layout: 5 arcs (greedy colouring of the column "
        "co-occurrence graph), gaps 0.4 of the circle; largest λ = 3.88e+03")


def _methods(seconds: str, width: int) -> str:
    from symcheck.report import Column

    columns = [Column("method", "left", "first"), Column("d"), Column("ε₁"),
               Column("time", least=len("99.99 s")), Column("note", "left", "first")]
    return _render(width, columns, [["poly (exact, d = 2k)", "10", "2.50e-12", seconds, NOTE],
                                    ["opt (low-rank logit fit)", "5", "0.0996", seconds, ""]])


def test_a_long_note_leaves_the_table_for_lines_of_its_own() -> None:
    wide, narrow = _methods("0.01 s", 260), _methods("0.01 s", 72)
    assert NOTE in wide and _layout(wide) == "table", wide
    assert _layout(narrow) == "below", narrow
    lines = narrow.split("note:\n", 1)[1].splitlines()
    assert lines[0].startswith("  poly (exact, d = 2k): trigonometric keys"), narrow
    assert all(line.startswith("    ") and len(line) <= 72 for line in lines[1:]), narrow
    assert " ".join(line.strip() for line in lines).endswith(NOTE.split(": ", 1)[-1]), narrow
    assert "opt (low-rank logit fit):" not in narrow.split("note:")[1], "an empty note is shown"


def test_the_layout_is_the_same_whatever_the_time_a_run_took() -> None:
    for width in range(20, 261, 2):
        fast, slow = _methods("0.01 s", width), _methods("12.34 s", width)
        assert _layout(fast) == _layout(slow), f"{width}:\n{fast}\n{slow}"
    assert {_layout(_methods("0.01 s", w)) for w in (260, 72, 34, 20)} == \
        {"table", "below", "turned", "stacked"}


def test_a_table_that_fits_is_drawn_as_rich_draws_it() -> None:
    from rich.console import Console
    from rich.table import Table

    from symcheck.report import table_box

    console = Console(width=200, file=io.StringIO(), force_terminal=False, color_system=None)
    table = Table(box=table_box(console))
    for i, header in enumerate(["group", *GROUP_COLUMNS, "verdict"]):
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=i > 0)
    for row in GROUPS:
        table.add_row(*row)
    with console.capture() as out:
        console.print(table)
    assert _groups(200) == out.get()


@pytest.mark.parametrize("width", [30, 50, 80, 200])
def test_a_long_command_breaks_into_lines_that_run_as_the_same_command(width: int) -> None:
    from symcheck.report import command_lines

    command = ("symcheck equivariance samples/positional.py --in 'n d' --out 'n d' --group "
               "'O(d)' --group 'S(n)' --size n=8,d=16 --seed 0 --trials 4 --fold-norms "
               "--case 'S(n) × O(d)/input:tiny:0'")
    lines = command_lines("replay the worst case: ", command, width)
    assert all(len(line) <= max(width, 40) for line in lines), lines
    assert all(line.endswith(" \\") for line in lines[:-1]), lines
    joined = " ".join(line.removesuffix(" \\") for line in lines)
    assert shlex.split(joined.removeprefix("replay the worst case: ")) == shlex.split(command)
