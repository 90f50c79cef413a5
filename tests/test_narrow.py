"""Narrow terminals (issue 14, point 5): on an 80- or 60-column terminal every table of every
command fits, and no number, exponent or verdict is cut to ``3.31e-…``.

Each command runs once as the real console script on a pseudo-terminal (``script -qc "stty cols
80; …"``), and in-process on rich consoles 80 and 60 columns wide; the numbers a narrow
terminal shows are numbers a wide one shows.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, CliResult

Cli = Callable[..., CliResult]
BERT = "samples/weights/bert/model.safetensors"
FAST = ["--trials", "4"]
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SCIENTIFIC = re.compile(r"\d\.\d+e[-+]\d\d")
CUT_NUMBER = re.compile(r"\d\.\d+e(?![-+]\d\d)")  # a mantissa whose exponent went missing
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


@pytest.mark.parametrize("name", NAMES)
def test_narrow_consoles_cut_no_number(terminal: Callable[..., list[str]], saved: Path,
                                       name: str) -> None:
    args, words = _commands(saved)[name]
    wide = set(SCIENTIFIC.findall("\n".join(terminal(200, *args))))
    for width in (80, 60):
        narrow = terminal(width, *args)
        assert_fits(narrow, width, words)
        assert set(SCIENTIFIC.findall("\n".join(narrow))) <= wide, "\n".join(narrow)


# ------------------------------------------------------------------ the layout, unit by unit

GROUPS = [["O(d) × S(n)", "35", "8.27e-01", "5.44e-02", "8.04e-01", "1e-09", "0", "FAIL"],
          ["O(d)", "29", "4.41e-16", "2.28e-16", "4.28e-16", "1e-09", "0", "PASS"]]


def _render(width: int, terminal: bool = True) -> str:
    from rich.console import Console

    from symcheck.report.layout import Column, print_table

    console = Console(width=width, file=io.StringIO(), force_terminal=terminal,
                      color_system=None)
    columns = [Column("group", "left", "last"), *map(Column, ["cases", "max error", "median",
               "p99", "tolerance", "noise floor"]), Column("verdict")]
    with console.capture() as out:
        print_table(console, columns, GROUPS, ["p99", "median", "noise floor", "cases"])
    return out.get()


@pytest.mark.parametrize("width", [80, 60])
def test_a_narrow_table_drops_columns_in_order_and_says_so(width: int) -> None:
    from rich.cells import cell_len

    text = _render(width)
    assert all(cell_len(line) <= width for line in text.splitlines()), text
    assert {"8.27e-01", "4.41e-16", "FAIL", "PASS"} <= set(text.split()), text
    assert "…" not in text and not CUT_NUMBER.findall(text), text
    dropped = {80: "p99", 60: "p99, median, noise floor"}[width]
    assert f"columns dropped to fit {width} columns: {dropped}\n" in text, text


def test_a_table_too_wide_for_any_drop_folds_rather_than_cuts() -> None:
    text = _render(30)  # the last resort: numbers fold onto a second line, every digit kept
    assert "…" not in text, text
    assert "8.27e" in text and "-01" in text and "FAIL" in text, text


def test_a_table_that_fits_is_drawn_as_rich_draws_it() -> None:
    from rich.console import Console
    from rich.table import Table

    from symcheck.report import table_box

    console = Console(width=200, file=io.StringIO(), force_terminal=True, color_system=None)
    table = Table(box=table_box(console))
    for i, header in enumerate(["group", "cases", "max error", "median", "p99", "tolerance",
                                "noise floor", "verdict"]):
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=i > 0)
    for row in GROUPS:
        table.add_row(*row)
    with console.capture() as out:
        console.print(table)
    assert _render(200) == out.get()


@pytest.mark.parametrize("width", [30, 50, 80, 200])
def test_a_long_command_breaks_into_lines_that_run_as_the_same_command(width: int) -> None:
    from symcheck.report.layout import command_lines

    command = ("symcheck equivariance samples/positional.py --in 'n d' --out 'n d' --group "
               "'O(d)' --group 'S(n)' --size n=8,d=16 --seed 0 --trials 4 --fold-norms "
               "--case 'S(n) × O(d)/input:tiny:0'")
    lines = command_lines("replay the worst case: ", command, width)
    assert all(len(line) <= max(width, 40) for line in lines), lines
    assert all(line.endswith(" \\") for line in lines[:-1]), lines
    joined = " ".join(line.removesuffix(" \\") for line in lines)
    assert shlex.split(joined.removeprefix("replay the worst case: ")) == shlex.split(command)
