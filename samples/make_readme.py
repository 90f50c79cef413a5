"""Run every command whose output README.md and the pages of docs/ quote for a bundled sample,
and write the results into them.

    python samples/make_readme.py                  # rewrite what is stale in README.md and docs/
    python samples/make_readme.py --check          # exit 1 with a diff when any of them is stale
    python samples/make_readme.py --only NAME ...  # one piece (region or quote) only
    python samples/make_readme.py --list           # every piece, its file and its commands

Two kinds of generated text, both listed in :data:`PIECES` with the commands that produce them
and the file each lives in (``README.md`` unless the piece names a page such as
``docs/sparse.md``):

- a **region**: everything between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``
  (a transcript, a table, a block of commands with their exit codes);
- a **quote**: numbers in the prose, found by a pattern that must match the README exactly
  once in its file; each named group of the pattern is generated
  (``(the band sample: 10 → 5)``).

How the commands run, so that their output is the same on every run:

- in this process, through ``symcheck.cli.main`` (what the ``symcheck`` script calls), from
  the repository root, with stdout and stderr captured (not a terminal: ASCII tables, no
  colour) and ``COLUMNS=120 NO_COLOR=1 TERM=dumb`` (``FORCE_COLOR`` and the like unset);
- every command is seeded (the defaults: seed 0), and only relative paths appear in them;
  output that holds the repository's absolute path or a temporary folder is refused rather
  than masked;
- no wall-clock time is quoted: the sparse tables are built from the ``--json`` reports and
  leave the seconds out.

One rule decides whether a file is stale (it never changes what is written): text must
match to the character, except that runs of white space and of table-rule dashes count as one,
and numbers compare by kind:

- **integers** (``d``, counts, seeds, exit codes, a lower bound): exactly;
- **round-off** (magnitude below 1e-9, the float64 tolerance; exact zeros included): equal to
  each other, because their digits depend on the BLAS kernels of the machine;
- **every other decimal** (errors, achieved ε, ratios): equal within 2 % relative. The numbers of
  a fit stopped by a precision rule (the band sample's ε₁ is 0.0996 on one CPU, 0.0998 on
  another and 0.0995 with OpenBLAS's Sandybridge kernels) and a last printed digit on a rounding
  boundary move by less than that from one machine to another; a real change moves them more.

Every verdict and every word must match.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import importlib.util
import io
import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: where README.md and docs/ are read and written (the tests point it at a copy)
DOCS_ROOT = ROOT
README = "README.md"
STALE = "README.md/docs are stale: run python samples/make_readme.py"

# --- running the commands -------------------------------------------------------------------

ENVIRONMENT = {"COLUMNS": "120", "LINES": "50", "NO_COLOR": "1", "TERM": "dumb"}
UNSET = ("FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
         "JUPYTER_COLUMNS")


@dataclass(frozen=True)
class Cli:
    """A command line as the README shows it; ``json``: also read its ``--json`` report
    (written to a temporary file, which changes nothing the command prints)."""

    line: str
    json: bool = False

    @property
    def label(self) -> str:
        return self.line


@dataclass(frozen=True)
class Api:
    """A measurement through the Python API (``label`` says what it runs)."""

    label: str
    call: Callable[[], Any]


@dataclass(frozen=True)
class Run:
    """What one command line did."""

    line: str
    exit_code: int
    stdout: str
    stderr: str
    report: Any = None  # the --json report, when asked for

    def group(self, name: str) -> dict[str, Any]:
        """The report's entry for one group (``"S(n)"``) or product (``"O(d) × S(n)"``)."""
        # a weights report holds the equivariance report under "check"
        for g in self.report.get("check", self.report)["groups"]:
            if g["group"] == name:
                return dict(g)
        raise KeyError(f"{self.line}: no group {name!r} in its report")

    def line_with(self, pattern: str) -> re.Match[str]:
        """The first match of ``pattern`` in what the command printed."""
        found = re.search(pattern, self.stdout + self.stderr)
        if found is None:
            raise ValueError(f"{self.line}: nothing printed matches {pattern!r}")
        return found


@contextlib.contextmanager
def plain_terminal(cwd: Path, modules: dict[str, Any] | None = None) -> Iterator[None]:
    """Fixed width, no colour, ``cwd`` as the working folder, and ``modules`` put into
    ``sys.modules`` (``None`` hides an installed package); all restored afterwards."""
    saved_env = {k: os.environ.get(k) for k in (*ENVIRONMENT, *UNSET)}
    saved_modules = {k: sys.modules.get(k) for k in modules or {}}
    saved_cwd = Path.cwd()
    os.environ.update(ENVIRONMENT)
    for key in UNSET:
        os.environ.pop(key, None)
    sys.modules.update(modules or {})
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        for key, module in saved_modules.items():
            if module is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = module
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_cli(line: str, cwd: Path = ROOT, modules: dict[str, Any] | None = None,
            report: bool = False) -> Run:
    """Run ``symcheck ...`` in this process, as the console script would."""
    from symcheck.cli import main

    args = shlex.split(line)
    if args[0] != "symcheck":
        raise ValueError(f"not a symcheck command: {line!r}")
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "report.json"
        extra = ["--json", str(json_path)] if report else []
        with plain_terminal(cwd, modules), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                main([*args[1:], *extra])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        data = json.loads(json_path.read_text()) if report else None
        for place in (str(ROOT), tmp, tempfile.gettempdir()):
            if place in out.getvalue() + err.getvalue():
                raise ValueError(f"{line!r} printed the path {place}: keep it out of the README")
    return Run(line, code, out.getvalue(), err.getvalue(), data)


class Runner:
    """Runs each command once and hands every piece that quotes it the same result."""

    def __init__(self) -> None:
        self.results: dict[Cli | Api, Any] = {}

    def __call__(self, command: Cli | Api) -> Any:
        if command not in self.results:
            if isinstance(command, Cli):
                self.results[command] = run_cli(command.line, report=command.json)
            else:
                with plain_terminal(ROOT):
                    self.results[command] = command.call()
        return self.results[command]


# --- pieces of the README and docs/ ---------------------------------------------------------

@dataclass(frozen=True)
class Region:
    """The text between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->`` in ``file``:
    ``render(*results)``, one result per command."""

    name: str
    commands: tuple[Cli | Api, ...]
    render: Callable[..., str]
    needs: tuple[str, ...] = ()  # optional packages the commands import
    file: str = README  # relative to the repository root

    def spans(self, text: str) -> list[tuple[int, int]]:
        start, end = f"<!-- generated: {self.name} -->\n", f"\n<!-- end: {self.name} -->"
        if text.count(start) != 1 or text.count(end) != 1:
            raise LookupError(f"{self.file}: region {self.name!r} needs exactly one "
                              f"{start.strip()} and one {end.strip()}")
        first = text.index(start) + len(start)
        return [(first, text.index(end, first))]

    def fresh(self, runner: Runner) -> list[str]:
        return [self.render(*(runner(c) for c in self.commands))]


@dataclass(frozen=True)
class Quote:
    """Numbers in the prose: ``pattern`` matches ``file`` exactly once, and
    ``render(*results)`` gives the text of each of its named groups, in order."""

    name: str
    pattern: str
    commands: tuple[Cli | Api, ...]
    render: Callable[..., tuple[str, ...]]
    needs: tuple[str, ...] = ()
    file: str = README

    def spans(self, text: str) -> list[tuple[int, int]]:
        found = list(re.finditer(self.pattern, text))
        if len(found) != 1:
            raise LookupError(f"{self.file}: quote {self.name!r} matches {len(found)} times "
                              f"(needs exactly one): {self.pattern}")
        groups = sorted(found[0].re.groupindex.values())
        return [found[0].span(g) for g in groups]

    def fresh(self, runner: Runner) -> list[str]:
        return list(self.render(*(runner(c) for c in self.commands)))


Piece = Region | Quote

# --- formatting -----------------------------------------------------------------------------


def e1(x: float | None) -> str:
    """One significant digit in e-notation, as the tables print errors: ``2e+00``, ``3e-16``."""
    if x is None:
        return "n/a"
    return "0" if x == 0 else f"{x:.0e}"


def g2(x: float) -> str:
    """Two significant digits, plainly: ``2``, ``0.9``, ``0.13``."""
    return f"{x:.2g}"


def one_decimal_range(values: Sequence[float]) -> str:
    """``0.8`` when every value rounds to it, else ``0.3–0.7``."""
    lo, hi = f"{min(values):.1f}", f"{max(values):.1f}"
    return lo if lo == hi else f"{lo}–{hi}"


def below(x: float, target: float) -> str:
    """An achieved ε: two significant digits, more when two would round up to the target
    (``0.0998``, not ``0.1``, for ε ≤ 0.1); round-off as ``9e-10``."""
    if x == 0:
        return "0"
    if x < 1e-6:
        return f"{x:.0e}"
    text = f"{x:.2g}"
    for digits in (3, 4, 5):
        if float(text) < target or x >= target:
            break
        text = f"{x:.{digits}g}"
    return text


def fenced(body: str, lang: str = "") -> str:
    return f"```{lang}\n{body.rstrip()}\n```"


def transcript(run: Run) -> str:
    """The command and everything it printed (stdout, then stderr)."""
    return fenced(f"$ {run.line}\n{run.stdout}{run.stderr}")


@dataclass(frozen=True)
class Line:
    """One line of a block of commands: run (its exit code is written after it) or not."""

    text: str
    comment: str = ""  # after "exit N" (starting with ": " or ", "), or the whole comment
    run: Cli | None = None


def command_block(name: str, lines: Sequence[Line], needs: tuple[str, ...] = (),
                  file: str = README) -> Region:
    """A fenced block of command lines, each run followed by ``# exit N`` as it exited."""

    def render(*results: Run) -> str:
        codes = iter(results)
        width = max(len(line.text) for line in lines if line.run)  # the exit codes align
        body = []
        for line in lines:
            if line.run:
                body.append(f"{line.text:<{width}}  # exit {next(codes).exit_code}{line.comment}")
            else:
                body.append(f"{line.text}  # {line.comment}" if line.comment else line.text)
        return fenced("\n".join(body), "bash")

    return Region(name, tuple(line.run for line in lines if line.run is not None), render, needs,
                  file)


def cli_line(line: str, comment: str = "") -> Line:
    return Line(line, comment, Cli(line))


# --- `symcheck equivariance` on the samples -------------------------------------------------

def equivariance_sample(path: str) -> Cli:
    return Cli(f"symcheck equivariance {path}", json=True)


ATTENTION = equivariance_sample("samples/attention.py")
POSITIONAL = equivariance_sample("samples/positional.py")
PADDING = "samples/options/padding.py"
MASKS = "--inputs samples/options/mask.npz"
TOKEN_IDS = Cli("symcheck equivariance samples/options/bert.py --in 'input_ids=b n' "
                "--out 'last_hidden_state=b n d' --group 'S(n)'")
PADDED = Cli(f"symcheck equivariance {PADDING}:padded_encoder {MASKS} "
             "--padding-mask src_key_padding_mask")
#: the verdict zoo of the test suite, which docs/equivariance.md quotes for the declarations,
#: the per-output judgement, the model's own precision and near-duplicate tokens
ZOO = "tests/models/verdicts"
VERDICTS = ROOT / ZOO


def verdicts(run: Run) -> str:
    cells = []
    for g in run.report["groups"]:
        word = "pass" if g["verdict"] == "pass" else f"**{g['verdict']}**"
        cells.append(f"{g['group']} {word} {e1(g['max'])}")
    return ", ".join(cells)


def positional_note(run: Run) -> str:
    s_n = run.group("S(n)")
    worst = s_n["worst"]["case"]
    if not worst.startswith("input:tiny:"):
        raise ValueError(f"samples/positional.py: S(n)'s worst case is now {worst}; the README "
                         "row says it is the ×1e-6 input probe: rewrite the row")
    haar = max(c["error"] for c in s_n["cases"] if c["case"].startswith("haar:"))
    return (f"; S(n) is worst on the ×1e-6 input probe (`{worst}`), where the bias dominates "
            f"the scores, and reaches {g2(haar)} on Haar draws")


def pass_line(run: Run) -> str:
    line = run.line_with(r"PASS: [^\n]*").group(0)
    return f': "{line}"'


#: command → (what the sample is, a note from its result)
EQUIVARIANCE_SAMPLES: dict[Cli, tuple[str, Callable[[Run], str]]] = {
    ATTENTION: (
        "self-attention over a sequence and a knowledge set", lambda r: ""),
    equivariance_sample("samples/learned_attention.py"): (
        "fixed learned W_Q, W_K, W_V", lambda r: ""),
    POSITIONAL: ("circular relative-position bias", positional_note),
    equivariance_sample("samples/pooling.py"): (
        'invariant attention-pooled features (output `"f"`)', pass_line),
    equivariance_sample("samples/chiral.py"): (
        "`x + x × mean(x)` in 3-D; O(d) fails on every seed, even with `--trials 1` (the "
        "reflection probes always run)", lambda r: ""),
}


def sample_table(*runs: Run) -> str:
    lines = ["| command | model | verdict, max relative error per group | exit |",
             "|---|---|---|---|"]
    for run, (what, note) in zip(runs, EQUIVARIANCE_SAMPLES.values(), strict=True):
        lines.append(f"| `{run.line}` | {what}{note(run)} | {verdicts(run)} | {run.exit_code} |")
    return "\n".join(lines)


# --- saved weights and LLM checkpoints ------------------------------------------------------

BERT = "samples/weights/bert/model.safetensors"
LLAMA = "samples/weights/llama/model.safetensors"
GPT2 = "samples/weights/gpt2/model.safetensors"
LLAMA_BLOCK = Cli(f"symcheck equivariance {LLAMA} --component block --group 'O(d)'")
LLAMA_FOLDED = Cli(f"symcheck equivariance {LLAMA} --component block --fold-norms "
                   "--group 'O(d)'", json=True)


def breakdown_table(run: Run) -> str:
    columns = list(run.report["breakdown"][0]["checks"])
    lines = ["| component / part | " + " | ".join(columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for row in run.report["breakdown"]:
        unit = row["unit"] if row["kind"] == "component" else f"&nbsp; {row['unit']}"
        cells = []
        for check in row["checks"].values():
            verdict = check["verdict"]
            word = verdict if verdict in ("pass", "n/a") else f"**{verdict}**"
            cells.append(word if check["max"] is None else f"{word} {e1(check['max'])}")
        lines.append(f"| {unit} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def causes(run: Run) -> tuple[str]:
    return (run.line_with(r"fails in block: (caused by .*?); pass alone").group(1),)


def max_error(group: str) -> Callable[[Run], tuple[str]]:
    return lambda run: (e1(run.group(group)["max"]),)


# --- sparse-approx ---------------------------------------------------------------------------

SPARSE_SAMPLES = {
    "permutation.npy": "random permutation",
    "bigbird.mtx": "local blocks of 8, 2 global tokens, 1 random block",
    "band.npy": "sliding window \\|i−j\\| ≤ 2",
    "random_k4.npz": "4 random columns, values in [0.5, 1.5]",
}
PRECISION = 0.1
METHOD_LABEL = {"poly": "poly, exact"}


def sparse_sample(file: str, options: str = f"--precision {PRECISION}") -> Cli:
    return Cli(f"symcheck sparse-approx samples/sparse/{file} {options}", json=True)


BAND = sparse_sample("band.npy")
# The paper's construction takes ~3 s here, but its bandwidth-bound search slows down tenfold on
# a loaded machine; a longer time limit than the default 120 s keeps a busy run from stopping
# early (it changes nothing else: the search is seeded).
BAND_JL = sparse_sample("band.npy", "--method jl --time-limit 900")


def row_nonzeros() -> dict[str, str]:
    from symcheck.sparse.matrix_io import load_matrix

    counts = {f: load_matrix(ROOT / "samples" / "sparse" / f).row_nnz for f in SPARSE_SAMPLES}
    return {f: str(c.min()) if c.min() == c.max() else f"{c.min()}–{c.max()}"
            for f, c in counts.items()}


ROW_NONZEROS = Api("the nonzeros per row of each sparse sample (symcheck.sparse.load_matrix)",
                   row_nonzeros)


def best_method(report: dict[str, Any]) -> dict[str, Any]:
    best = report["best"]
    return next(m for m in report["methods"] if (m["method"], m["d"]) ==
                (best["method"], best["d"]))


def seeds_at_d(method: dict[str, Any], sep: str = "/") -> str:
    if method["seed"] is None:
        return "deterministic"
    trial = next(t for t in method["trials"] if t["d"] == method["d"])
    return f"{trial['successes']}{sep}{trial['tried']}"


def sparse_table(nonzeros: dict[str, str], *runs: Run) -> str:
    lines = ["| sample | L | nonzeros/row | d found (method) | ε₁, ε₂ achieved | seeds ok at d "
             "| proven lower bound | paper's bound (C=1) |", "|---" * 8 + "|"]
    for (file, what), run in zip(SPARSE_SAMPLES.items(), runs, strict=True):
        r = run.report
        best = best_method(r)
        eps = best["precision"]
        bound = r["lower_bound"]["d"]
        exact = f" (so d = {bound} is exact)" if bound == best["d"] else ""
        lines.append(
            f"| `{file}` — {what} | {r['L']} | {nonzeros[file]} "
            f"| **{best['d']}** ({METHOD_LABEL.get(best['method'], best['method'])}) "
            f"| {below(eps['eps1'], PRECISION)}, {below(eps['eps2'], PRECISION)} "
            f"| {seeds_at_d(best)} | {bound}{exact} | {r['paper_bound']['value']:,.0f} |")
    return "\n".join(lines)


def band_fit(run: Run) -> tuple[str, str]:
    """The exact construction's d = 2k, then the fit's d below it (the best verified)."""
    poly = [m for m in run.report["methods"] if m["method"] == "poly"]
    if not poly:
        raise ValueError(f"{run.line}: no poly result; the README says auto runs poly first")
    return str(poly[0]["d"]), str(run.report["best"]["d"])


def band_jl(run: Run) -> tuple[str, str, str]:
    best = best_method(run.report)
    return (f"{round(best['d'], -3):,}", seeds_at_d(best, " of "),
            f"{round(best['d'] / run.report['L'], -2):,.0f}")


# --- the kernel zoo and `symcheck form` ------------------------------------------------------

FORM_HOLDS = Cli("symcheck form samples/kernels/exponential.py:asymmetric")

def _sample_script(relative: str) -> ModuleType:
    name = "symcheck_sample_" + relative.removesuffix(".py").replace("/", "_")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "samples" / relative)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def kernel_rows() -> dict[str, Any]:
    table = _sample_script("kernels/make_table.py")
    return {r.target: r for r in table.measure_all()}


KERNEL_ROWS = Api("samples/kernels/make_table.py: every row of the kernel table", kernel_rows)


def kernels_table(rows: dict[str, Any]) -> str:
    table = _sample_script("kernels/make_table.py")
    return str(table.render([rows[f"{f}:{n}"] for f, n, _ in table.SAMPLES]))


def form_diagnostics() -> dict[str, dict[str, Any]]:
    """``symcheck.check_form`` (defaults: seed 0, weights as knowledge) on the kernels the
    bullets under the table quote, attention-likeness included."""
    from symcheck.api import check_form
    from symcheck.sources.python import load_python

    targets = ("exponential.py:symmetric", "exponential.py:asymmetric", "rbf.py:symmetric",
               "rbf.py:asymmetric", "polynomial.py:symmetric", "polynomial.py:asymmetric",
               "linear.py:symmetric", "linear.py:asymmetric", "positional.py:product_kernel")
    out = {}
    for target in targets:
        result = check_form(load_python(f"samples/kernels/{target}").obj, seed=0)
        out[target] = {d.key: d.value for d in result.diagnostics}
    return out


FORM_DIAGNOSTICS = Api("symcheck.check_form on the exponential, RBF, polynomial, linear and "
                       "product kernels", form_diagnostics)


def r2_values(diagnostics: dict[str, dict[str, Any]], *families: str) -> list[float]:
    """The R² of log C_ij ≈ x_iᵀ W z_j + b_i of every sample in ``families`` (``"rbf"``)."""
    return [float(v["log_bilinear_r2"]) for t, v in diagnostics.items()
            if t.split(".py")[0] in families]


def r2(*families: str) -> Callable[[dict[str, dict[str, Any]]], tuple[str]]:
    return lambda diagnostics: (one_decimal_range(r2_values(diagnostics, *families)),)


def kernel_number(target: str, field: str) -> Callable[[dict[str, Any]], tuple[str]]:
    return lambda rows: (f"{getattr(rows[target], field):.1g}",)


# --- quoted error messages --------------------------------------------------------------------

def missing_torch() -> str:
    """The error for a model file that imports torch when torch is not installed (hidden)."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "model.py").write_text("import torch\n\ndef f(x):\n    return x\n")
        run = run_cli("symcheck equivariance model.py --in 'n d' --out 'n d' --group 'S(n)' "
                      "--size n=3,d=2", cwd=Path(tmp), modules={"torch": None})
    return run.stderr.strip()


def missing_size() -> str:
    """The Python API's error for a size left out: ``sizes={'n': 4}`` for the spec ``n d``."""
    from symcheck import check_equivariance
    from symcheck.core.errors import SymcheckError

    try:
        check_equivariance(lambda x: x, "n d", "n d", ["O(d)"], {"n": 4})
    except SymcheckError as exc:
        # The README elides where the size is needed: "(needed by input 0 spec 'n d')".
        return re.sub(r" \(needed by [^)]*\)", " …", str(exc))
    raise AssertionError("check_equivariance ran without a size for 'd'")


def result_reprs() -> str:
    """A Python session: a result, a group's result and its name, each as it prints."""
    import symcheck

    positional = _sample_script("positional.py").positional_attention
    result = symcheck.check_equivariance(positional)
    session = [">>> import symcheck",
               ">>> from positional import positional_attention  # samples/positional.py",
               ">>> r = symcheck.check_equivariance(positional_attention)",
               ">>> r", repr(result),
               ">>> r.groups[-1]", repr(result.groups[-1]),
               ">>> r.groups[-1].name", repr(result.groups[-1].name)]
    return fenced("\n".join(session), "pycon")


def config_error() -> str:
    """``symcheck check`` on docs/ci.md's pyproject.toml (samples/ci's) with ``groups``
    misspelt ``group``."""
    config = (ROOT / "samples" / "ci" / "pyproject.toml").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pyproject.toml").write_text(
            config.replace('groups = ["O(d)", "S(n)"]', 'group = ["O(d)", "S(n)"]'))
        run = run_cli("symcheck check", cwd=Path(tmp))
    return run.stderr.strip()


def args_error() -> str:
    """The error for a ``*args`` model given an inputs file that names none of its two inputs
    and holds one array (``one.npz``)."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "one.npz", np.zeros((7, 4)))
        run = run_cli(f"symcheck equivariance {VERDICTS / 'declare_args.py'}:wrapped "
                      "--in 'n d' --in 'n n' --inputs one.npz", cwd=Path(tmp))
    return run.stderr.strip()


def fenced_line(pattern: str) -> Callable[[Run], str]:
    """The first line a command printed that matches ``pattern``, as a fenced block."""
    return lambda run: fenced(run.line_with(pattern)[0])


# --- the registry -----------------------------------------------------------------------------

def in_file(file: str, *pieces: Piece) -> tuple[Piece, ...]:
    """``pieces``, each living in ``file`` (relative to the repository root)."""
    return tuple(dataclasses.replace(p, file=file) for p in pieces)


#: every generated piece, by the file it lives in
PIECES: tuple[Piece, ...] = (
    *in_file(README,
        command_block("quick-start", [
            Line(ATTENTION.line, ": O(d), S(n) and O(d) × S(n) hold", ATTENTION),
            Line(POSITIONAL.line, ": S(n) fails, the report below", POSITIONAL),
            Line(FORM_HOLDS.line, ": the form of attention holds", FORM_HOLDS),
            Line(BAND.line, ": a small d reproduces the band", BAND),
            cli_line("symcheck sparse-sweep band --k 3 --lengths 64,128 --methods poly",
                     ": d against log₂ L"),
            cli_line("symcheck check --config samples/ci/pyproject.toml",
                     ": every check of samples/ci passes"),
        ]),
        Region("positional-report", (POSITIONAL,), transcript)),
    *in_file("docs/equivariance.md",
        Region("equivariance-samples", tuple(EQUIVARIANCE_SAMPLES), sample_table),
        command_block("padding-commands", [
            cli_line(f"symcheck equivariance {PADDING}:encoder {MASKS}",
                     ": the padding rows differ"),
            cli_line(f"symcheck equivariance {PADDING}:encoder {MASKS} --mask attention_mask"),
            Line(PADDED.line, "", PADDED),
            cli_line(f"symcheck equivariance {PADDING}:padded_encoder {MASKS} "
                     "--mask src_key_padding_mask", ": read the wrong way round"),
        ]),
        command_block("token-ids-commands", [
            Line(TOKEN_IDS.line, ": no ids given", TOKEN_IDS),
            cli_line(f"{TOKEN_IDS.line} --inputs samples/options/ids.npz",
                     ": the ids given; the position table breaks S(n)"),
        ], needs=("transformers",)),
        Quote("token-ids-error", r"says what to pass:\s+`(?P<message>[^`]+)`", (TOKEN_IDS,),
              lambda run: (run.stderr.strip(),), needs=("transformers",)),
        Quote("padding-mask-line",
              r"for\s+`--padding-mask` above:\n\n```\n(?P<line>mask [^\n]+)\n```",
              (PADDED,), lambda run: (run.line_with(r"mask src_key_padding_mask [^\n]+")[0],)),
        Quote("sizes-error", r"a missing size reads\s+`(?P<message>[^`]+)`",
              (Api("symcheck.check_equivariance with sizes={'n': 4} for 'n d'", missing_size),),
              lambda message: (message,))),
    *in_file("docs/equivariance.md",
        command_block("declare-commands", [
            cli_line(f"symcheck equivariance {ZOO}/declare_knn.py:knn",
                     ": kNN positions declared `n k:index(n)`"),
            cli_line(f"symcheck equivariance {ZOO}/declare_knn.py:knn_plain",
                     ": the same declared `n k`"),
            cli_line(f"symcheck equivariance {ZOO}/declare_args.py:edges --inputs "
                     f"{ZOO}/declare_args_inputs.npz", ": an edge list, `e:set two:index(n)`"),
            cli_line(f"symcheck equivariance {ZOO}/declare_args.py:edges --inputs "
                     f"{ZOO}/declare_args_inputs.npz --out 'e two:index(n)'",
                     ": its rows in order"),
            cli_line(f"symcheck equivariance {ZOO}/declare_reversal.py:two_sided",
                     ": symmetric neighbours, R(n)"),
            cli_line(f"symcheck equivariance {ZOO}/declare_reversal.py:causal",
                     ": a running mean"),
            cli_line(f"symcheck equivariance {ZOO}/declare_reversal.py:circular_symmetric",
                     ": circular, symmetric kernel, D(n)"),
            cli_line(f"symcheck equivariance {ZOO}/declare_reversal.py:circular_asymmetric",
                     ": the reflections"),
            cli_line(f"symcheck equivariance {ZOO}/declare_reverse_complement.py:rc_conv",
                     ": W[k,c,o] = W[K−1−k, Pc, Po], R(n) with `complement(3,2,1,0)`"),
            cli_line(f"symcheck equivariance {ZOO}/declare_reverse_complement.py:plain_conv",
                     ": a random kernel"),
        ]),
        Quote("args-error", r"the message says what to do:\n`(?P<message>[^`]+)`",
              (Api("a *args model given one unnamed array for two inputs", args_error),),
              lambda message: (message,)),
        Region("outputs-report",
               (Cli(f"symcheck equivariance {ZOO}/planted_force_field.py:planted_force_field"),),
               transcript),
        Quote("precision-line",
              r"Float32Attention`:\n\n  ```\n  (?P<line>its parameters [^\n]+)\n  ```",
              (Cli(f"symcheck equivariance {ZOO}/precision_float32_module.py:Float32Attention"),),
              lambda run: (run.line_with(r"its parameters [^\n]+")[0],), needs=("torch",)),
        # the count of cases and the cases named depend on the machine's rounding: only the
        # note's measured perturbation is quoted, the rest is shown elided
        Quote("cancellation-note",
              r"the measured\s+perturbation \((?P<res>[\de.+-]+) relative,",
              (Cli(f"symcheck equivariance {ZOO}/control_directions.py"),),
              lambda run: (run.line_with(r"near-duplicate cases not counted \([^\n]*?: "
                                         r"moving the input by its own round-off "
                                         r"\(([\de.+-]+) relative\)").group(1),))),
    *in_file("docs/geometric.md",
        Quote("cross-as-vector",
              r"declared a vector: \*\*O\(c\) fails\*\* \(error (?P<error>[^,]+),",
              (Cli("symcheck equivariance samples/geometric/cross.py --out 'n c'", json=True),),
              lambda run: (g2(run.group("O(c)")["max"]),))),
    *in_file("docs/sparse.md",
        Region("sparse-samples", (ROW_NONZEROS, *(sparse_sample(f) for f in SPARSE_SAMPLES)),
               sparse_table),
        Quote("band-jl", r"needs d ≈ (?P<d>[\d,]+) \((?P<seeds>\d+ of \d+) seeds at that\s+d; "
              r"`--method jl`\), about (?P<ratio>[\d,]+)× more than L", (BAND_JL,), band_jl),
        Quote("band-fit", r"\(the band sample: (?P<exact>\d+) → (?P<fit>\d+)\)", (BAND,),
              band_fit)),
    *in_file("docs/form.md",
        command_block("form-commands", [
            Line(FORM_HOLDS.line, ": the form holds", FORM_HOLDS),
            cli_line("symcheck form samples/kernels/exponential.py:asymmetric --weights fixed",
                     ": C turns with Q"),
            cli_line("symcheck form samples/kernels/controls.py:layernorm --json -",
                     ", JSON on stdout"),
        ]),
        Region("form-report",
               (Cli("symcheck form samples/kernels/exponential.py:asymmetric --weights fixed"),),
               transcript),
        Region("kernels-table", (KERNEL_ROWS,), kernels_table),
        Quote("kernel-r2-exponential", r"log-bilinear \(R² = (?P<r2>[\d.]+)\)",
              (FORM_DIAGNOSTICS,), lambda d: (g2(min(r2_values(d, "exponential"))),)),
        Quote("kernel-r2-rbf", r"RBF has a key-norm term\s+\(R² ≈ (?P<r2>[\d.–]+)\)",
              (FORM_DIAGNOSTICS,), r2("rbf")),
        Quote("kernel-r2-others", r"not exponential at all \(R² ≈ (?P<r2>[\d.–]+)\)",
              (FORM_DIAGNOSTICS,), r2("polynomial", "linear")),
        Quote("with-values-span", r"weights the span residual is ≈ (?P<span>[\d.]+);",
              (KERNEL_ROWS,), kernel_number("exponential.py:with_values", "span_fixed")),
        Quote("product-kernel-covariance", r"permutation\s+covariance \(≈ (?P<cov>[\d.]+)\)",
              (FORM_DIAGNOSTICS,),
              lambda d: (f"{d['positional.py:product_kernel']['permutation_covariance']:.1g}",)),
        Quote("linear-attention-invariance",
              r"coefficients that change under Q \(≈ (?P<inv>[\d.]+)\)",
              (KERNEL_ROWS,), kernel_number("linear_attention.py:embedding", "invariance_fixed")),
        Quote("coordinate-mlp-span", r"MLP leaves the span \(≈ (?P<span>[\d.]+)\)",
              (KERNEL_ROWS,), kernel_number("controls.py:coordinate_mlp", "span_fixed"))),
    *in_file("docs/ci.md",
        Quote("config-error",
              r"<!-- use-in-ci: config-error -->\n```\n(?P<message>[^\n]+)\n```",
              (Api("symcheck check on docs/ci.md's pyproject.toml with 'group' for 'groups'",
                   config_error),), lambda message: (message,)),
        Region("result-reprs", (Api("symcheck.check_equivariance(positional_attention) in "
                                    "a Python session", result_reprs),), lambda text: text)),
    *in_file("docs/weights.md",
        command_block("framework-commands", [
            Line("pip install '.[torch]'",
                 "from this checkout (or '.[jax]', '.[safetensors]'); from an index: "
                 "'symcheck[torch]'"),
            cli_line("symcheck equivariance samples/torch_model.py",
                     ": nn.MultiheadAttention, S(n) holds"),
            cli_line("symcheck equivariance samples/torch_model.py --group 'O(d)'",
                     ": its weights are fixed"),
            cli_line("symcheck equivariance samples/jax_model.py",
                     ": jitted Gram attention, O(d) and S(n) hold"),
        ], needs=("torch", "jax")),
        Quote("missing-torch", r"install, e\.g\.\s+`(?P<message>symcheck: error: [^`]+)`",
              (Api("symcheck equivariance model.py (a file that imports torch) with torch hidden",
                   missing_torch),), lambda message: (message,)),
        Region("bert-breakdown", (Cli(f"symcheck equivariance {BERT} --breakdown", json=True),),
               breakdown_table, needs=("safetensors",)),
        Region("bert-block",
               (Cli(f"symcheck equivariance {BERT} --group 'O(d)' --component block"),),
               transcript, needs=("safetensors",)),
        command_block("llm-commands", [
            cli_line(f"symcheck equivariance {LLAMA} --layer layers.0 --group 'S(n)'", ": causal"),
            cli_line(f"symcheck equivariance {LLAMA} --component attention --group 'O(d)'"),
            Line(LLAMA_BLOCK.line, ": the RMSNorm gains", LLAMA_BLOCK),
            Line(LLAMA_FOLDED.line, "", LLAMA_FOLDED),
            cli_line(f"symcheck equivariance {LLAMA} --layer all --fold-norms --group 'O(d)'",
                     ": the stack"),
            cli_line(f"symcheck equivariance {GPT2} --component block --fold-norms --group 'O(d)'",
                     ": LayerNorm's centring"),
        ], needs=("safetensors",)),
        Quote("llama-causes", r'unfolded block fails with\s+"(?P<causes>caused by [^"]+)"',
              (LLAMA_BLOCK,), causes, needs=("safetensors",)),
        Quote("llama-folded", r"folded it passes at (?P<error>[\de.+-]+);", (LLAMA_FOLDED,),
              max_error("O(d)"), needs=("safetensors",))),
)

# --- comparing and writing -------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_INTEGER = re.compile(r"[-+]?\d+")
ROUND_OFF = 1e-9
RELATIVE_BAND = 0.02


def _skeleton(text: str) -> tuple[str, list[str]]:
    """``text`` with white space and table rules collapsed and every number as ``#``, and the
    numbers in order."""
    numbers = _NUMBER.findall(text)
    return re.sub(r"-{3,}", "---", re.sub(r"\s+", " ", _NUMBER.sub("#", text))), numbers


def same_number(a: str, b: str) -> bool:
    """The rule of the module docstring for two printed numbers.

    >>> same_number("3e-16", "0"), same_number("0.0996", "0.0998"), same_number("10", "11")
    (True, True, False)
    """
    x, y = float(a), float(b)
    if abs(x) < ROUND_OFF and abs(y) < ROUND_OFF:
        return True
    if _INTEGER.fullmatch(a) or _INTEGER.fullmatch(b):
        return _INTEGER.fullmatch(a) is not None and _INTEGER.fullmatch(b) is not None and x == y
    return abs(x - y) <= RELATIVE_BAND * max(abs(x), abs(y))


def agree(text: str, other: str) -> bool:
    """Whether two versions of a generated span say the same thing (the module docstring's
    rule): the same words, and numbers that :func:`same_number` holds equal."""
    (words, numbers), (other_words, other_numbers) = _skeleton(text), _skeleton(other)
    return (words == other_words and len(numbers) == len(other_numbers)
            and all(map(same_number, numbers, other_numbers)))


@dataclass(frozen=True)
class Stale:
    """One generated span whose text in ``file`` differs from the fresh one."""

    piece: str
    file: str
    readme: str
    fresh: str


def missing_packages(piece: Piece) -> list[str]:
    return [m for m in piece.needs if importlib.util.find_spec(m) is None]


def measure(pieces: Sequence[Piece], runner: Runner | None = None) -> dict[str, list[str]]:
    """The fresh text of every piece (skipping, with a message, those whose packages are
    missing)."""
    runner = runner or Runner()
    fresh = {}
    for piece in pieces:
        missing = missing_packages(piece)
        if missing:
            print(f"skipped {piece.name}: needs {', '.join(missing)}", file=sys.stderr)
            continue
        fresh[piece.name] = piece.fresh(runner)
    return fresh


def read_files(pieces: Sequence[Piece]) -> dict[str, str]:
    """The text of every file that holds one of ``pieces``, by its relative path."""
    return {f: (DOCS_ROOT / f).read_text(encoding="utf-8") for f in dict.fromkeys(
        p.file for p in pieces)}


def refresh(texts: Mapping[str, str], fresh: dict[str, list[str]],
            pieces: Sequence[Piece] = PIECES) -> tuple[dict[str, str], list[Stale]]:
    """``texts`` (file → text) with every stale span replaced by its fresh text, and the stale
    spans.

    A span is stale when its text and the fresh one do not :func:`agree`; spans that agree
    keep the file's text (no churn from round-off digits)."""
    edits: dict[str, list[tuple[int, int, str]]] = {f: [] for f in texts}
    stale = []
    for piece in pieces:
        if piece.name not in fresh:
            continue
        text = texts[piece.file]
        spans = piece.spans(text)
        if len(spans) != len(fresh[piece.name]):
            raise ValueError(f"{piece.name}: {len(spans)} places in {piece.file}, "
                             f"{len(fresh[piece.name])} generated texts")
        for (start, end), new in zip(spans, fresh[piece.name], strict=True):
            if not agree(text[start:end], new):
                stale.append(Stale(piece.name, piece.file, text[start:end], new))
                edits[piece.file].append((start, end, new))
    out = dict(texts)
    for file, changes in edits.items():
        for start, end, new in sorted(changes, reverse=True):
            out[file] = out[file][:start] + new + out[file][end:]
    return out, stale


def report(stale: Sequence[Stale], before: Mapping[str, str], after: Mapping[str, str]) -> str:
    """What ``--check`` prints: the stale pieces and a unified diff of each file they are in."""
    diffs = [difflib.unified_diff(before[f].splitlines(keepends=True),
                                  after[f].splitlines(keepends=True), f, f"{f} (fresh)")
             for f in before if before[f] != after[f]]
    names = ", ".join(dict.fromkeys(f"{s.piece} in {s.file}" for s in stale))
    return f"{STALE} (stale: {names})\n" + "".join("".join(d) for d in diffs)


def count(pieces: Sequence[Piece]) -> str:
    return f"{len(pieces)} piece" + ("" if len(pieces) == 1 else "s")


def select(names: Sequence[str]) -> list[Piece]:
    known = {p.name: p for p in PIECES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"make_readme.py: no piece {', '.join(unknown)} "
                         f"(known: {', '.join(known)})")
    return [known[n] for n in names] if names else list(PIECES)


def documents() -> list[str]:
    """README.md and every page of docs/, relative to :data:`DOCS_ROOT`."""
    pages = sorted((DOCS_ROOT / "docs").glob("*.md"))
    return [README, *(p.relative_to(DOCS_ROOT).as_posix() for p in pages)]


def unclaimed_regions() -> list[str]:
    """``FILE: NAME`` for every ``<!-- generated: NAME -->`` that no piece of that file
    writes (a region nothing checks would go stale unnoticed)."""
    claimed = {(p.file, p.name) for p in PIECES if isinstance(p, Region)}
    found = [(f, name) for f in documents() for name in re.findall(
        r"^<!-- generated: ([\w-]+) -->$", (DOCS_ROOT / f).read_text(encoding="utf-8"),
        re.MULTILINE)]
    return [f"{f}: {name}" for f, name in found if (f, name) not in claimed]


def list_pieces(pieces: Sequence[Piece]) -> None:
    for piece in pieces:
        kind = "region" if isinstance(piece, Region) else "quote"
        print(f"{piece.name} ({kind} in {piece.file})")
        for command in piece.commands:
            print(f"    {command.label}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when README.md or a page of docs/ is stale")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="these pieces")
    parser.add_argument("--list", action="store_true",
                        help="list the pieces, their files and their commands")
    args = parser.parse_args(argv)
    pieces = select(args.only)
    if args.list:
        list_pieces(pieces)
        return 0
    texts = read_files(pieces)
    try:
        for piece in pieces:  # before anything runs
            piece.spans(texts[piece.file])
        unclaimed = unclaimed_regions()
        if unclaimed:
            raise LookupError(f"no piece writes the region {', '.join(unclaimed)}")
        new, stale = refresh(texts, measure(pieces), pieces)
    except LookupError as exc:  # a marker or a quoted phrase is missing or doubled
        print(f"make_readme.py: {exc}", file=sys.stderr)
        return 2
    files = ", ".join(texts)
    if args.check:
        if stale:
            print(report(stale, texts, new))
            return 1
        print(f"{files}: up to date ({count(pieces)})")
        return 0
    for file, text in new.items():
        if text != texts[file]:
            (DOCS_ROOT / file).write_text(text, encoding="utf-8")
    print(f"{files}: {len(stale)} stale of {count(pieces)} rewritten"
          + (f" ({', '.join(dict.fromkeys(s.piece for s in stale))})" if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
