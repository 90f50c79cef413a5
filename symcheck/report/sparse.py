"""Reports of ``symcheck sparse-approx``: the search summary, the d → precision table, verify.

Everything shown is read from the result objects of :mod:`symcheck.sparse`; rich is imported
only inside the functions that draw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from symcheck.core.errors import Phrase, Use, say
from symcheck.core.files import atomic_write
from symcheck.report import Column, fmt_float, make_console, print_plain, print_table

if TYPE_CHECKING:
    from symcheck.sparse import MethodResult, SparseApproxResult, VerifyResult
    from symcheck.sparse.sweep import SweepResult

#: the width a time column counts on ("12.34 s"), whatever this run took: a faster or slower run
#: must not change how the table is laid out (see symcheck.report)
_SECONDS = len("99.99 s")
_METHOD_NAMES = {
    "circle": "circle (exact, one nonzero per row)",
    "poly": "poly (exact, d = 2k trigonometric keys)",
    "opt": "opt (low-rank logit fit)",
    "jl": "jl (paper's random projection)",
}


def _fmt_fixed(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _fmt_eps1(value: float) -> str:
    """ε₁ with four decimals, or in scientific notation when that would show 0.0000."""
    return fmt_float(value) if 0 < value < 5e-5 else _fmt_fixed(value)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def _times(factor: float) -> str:
    """A ratio ≥ 1 as ``12×`` or ``1.3×`` (never ``0×`` or ``1×`` for a real difference)."""
    return f"{factor:,.0f}×" if factor >= 10 else f"{factor:.1f}×"


def compare_to_bound(d: int, bound: float, log2_size: float) -> str:
    """``d`` against ``log₂ L`` (skipped when ``L = 1``) and the paper's bound, above or below.

    >>> compare_to_bound(81920, 11025, 6.0)
    "81920 = 13,653× log₂ L, 7.4× above the paper's bound"
    >>> compare_to_bound(2, 1.0, 0.0)
    "2, 2.0× above the paper's bound"
    >>> compare_to_bound(5, 11025, 6.0)
    "5 = 0.83× log₂ L, 2,205× below the paper's bound"
    """
    text = f"{d}"
    if log2_size > 0:
        per_log = d / log2_size
        text += f" = {per_log:,.0f}× log₂ L" if per_log >= 10 else f" = {per_log:.2f}× log₂ L"
    if d > bound:
        return f"{text}, {_times(d / bound)} above the paper's bound"
    if d < bound:
        return f"{text}, {_times(bound / d)} below the paper's bound"
    return f"{text}, equal to the paper's bound"


def _no_d(result: SparseApproxResult, m: MethodResult) -> str:
    if m.stopped == "time-limit":
        return "none yet (time limit)"
    return f"none ≤ {m.details.get('max_d', result.max_d)}"


def render_approx(result: SparseApproxResult, to_stderr: bool = False) -> None:
    """Print the report of a search (plain ASCII boxes when not on a terminal)."""
    console = make_console(stderr=to_stderr)
    t = result.targets
    console.print(
        f"[bold]sparse-approx[/bold] {result.source}: L = {result.size}, nnz = {result.nnz}, "
        f"N = {result.max_row_nnz} nonzeros/row max, R = {result.max_ratio:.4g}"
    )
    console.print(
        f"precision: ratio error ε₁ ≤ {t.eps1:g}, leakage ε₂ ≤ {t.eps2:g}; method {result.method}, "
        f"seed {result.seed}, {result.seeds_per_d} seed(s) per d, max d {result.max_d}"
    )
    _methods_table(console, result)

    best = result.best
    lines = [
        f"log₂ L = {result.log2_size:.2f}",
        (
            f"paper's bound C·N·ln²(R/ε₂)·ln L/ε₁² = {result.paper_bound:,.0f} "
            "(Likhosherstov, Choromanski & Weller 2021, arXiv 2106.03764; C = 1: the paper "
            "states only the order)"
        ),
        f"proven lower bound: d ≥ {result.lower_bound} — {result.lower_bound_reason}",
    ]
    if result.exact_claim is not None:
        lines.append(result.exact_claim)
    if best is not None and best.d is not None:
        seed = "" if best.seed is None else f", seed {best.seed}"
        lines.append(
            f"best verified: d = {compare_to_bound(best.d, result.paper_bound, result.log2_size)}"
            f" ({best.method}{seed}) — an upper bound on the minimum, not a claimed optimum"
        )
    else:
        lines.append(result.reason)
    for line in lines:
        console.print(line)

    _trial_tables(console, result)
    if result.passed:
        verdict = "precision [bold green]met[/]"
    elif result.timed_out:
        verdict = "[bold yellow]inconclusive[/]: time limit reached, no d verified yet (exit 1)"
    else:
        verdict = "precision [bold red]not met[/]"
    console.print(f"{verdict} (total {result.seconds:.2f} s)")


def _methods_table(console: Any, result: SparseApproxResult) -> None:
    """The d each method found, with its precision; then what each method adds in words."""
    columns = [Column("method", "left", "first"), Column("d", wrap="last"), Column("seed"),
               Column("ε₁"), Column("ε₂"), Column("success"), Column("time", least=_SECONDS),
               Column("note", "left", "first")]
    rows = []
    for m in result.methods:
        p = m.precision
        rows.append([
            _METHOD_NAMES.get(m.method, m.method),
            _no_d(result, m) if m.d is None else str(m.d),
            "-" if m.d is None or m.seed is None else str(m.seed),
            "-" if p is None or m.d is None else _fmt_eps1(p.eps1),
            "-" if p is None or m.d is None else fmt_float(p.eps2),
            _rate(m.success_rate),
            f"{m.seconds:.2f} s",
            say(m.note) if m.measured_from == "parameters"
            else f"{m.note}; ε not from arrays (below)",
        ])
    print_table(console, columns, rows,
                title="hidden size d per method (d = column count of W_Q; X is L × 2d)")
    for m in result.methods:
        if m.measured_from != "parameters":
            console.print(f"{m.method}: {m.measured_from}")
        if m.method == "poly" and "max_lambda" in m.details:
            arcs = int(m.details["arcs"])
            layout = (f"colouring layout, {arcs} arcs" if m.details["layout"] == "colour"
                      and arcs > 1 else "uniform angles")
            console.print(
                f"poly: k = {m.details['k']}, {layout}, largest λ = "
                f"{m.details['max_lambda']:.3g} (conditioning), built in "
                f"{m.details['build_seconds']:.2f} s, verified in "
                f"{m.details['verify_seconds']:.2f} s"
            )


def _trial_tables(console: Any, result: SparseApproxResult) -> None:
    """Per searched method, the precision reached at each d tried."""
    for m in result.methods:
        if not m.trials or m.method in ("circle", "poly"):
            continue
        rows = [[str(tr["d"]),
                 f"{'[green]' if tr['successes'] > 0 else '[red]'}"
                 f"{tr['successes']}/{tr['tried']}[/]",
                 _fmt_fixed(tr["best_eps1"]), fmt_float(tr["best_eps2"]),
                 f"{tr['seconds']:.2f} s"] for tr in m.trials]
        print_table(console, [*map(Column, ("d", "seeds ok", "best ε₁", "best ε₂")),
                              Column("time", least=_SECONDS)], rows,
                    title=f"{m.method}: d → precision (best seed at each d tried)")


def render_verify(result: VerifyResult, to_stderr: bool = False) -> None:
    """Print the recomputed claim of saved parameters."""
    console = make_console(stderr=to_stderr)
    p = result.precision
    t = result.targets
    claimed: dict[str, Any] = result.claimed
    rows = [
        ["L", str(result.size), "", str(claimed.get("L", "-"))],
        ["hidden size d (cols of W_Q)", str(result.d), "", str(claimed.get("d", "-"))],
        ["X width", str(result.x_width), "", ""],
        ["ratio error ε₁", _fmt_fixed(p.eps1), f"≤ {t.eps1:g}",
         _fmt_fixed(claimed.get("eps1")) if "eps1" in claimed else "-"],
        ["leakage ε₂", fmt_float(p.eps2), f"≤ {t.eps2:g}",
         fmt_float(claimed["eps2"]) if "eps2" in claimed else "-"],
    ]
    console.print(f"[bold]sparse-approx {Phrase(Use('verify'))}[/bold] {result.source}")
    print_table(console, [Column("quantity", "left", "last"), Column("recomputed"),
                          Column("target"), Column("claimed in file")], rows,
                title=f"verify {result.params_source}")
    console.print(
        f"worst rows: ratio {p.worst_ratio_row}, leakage {p.worst_leak_row}; "
        f"recomputed softmax(X W_Q W_Kᵀ Xᵀ) in row blocks in {result.seconds:.2f} s"
    )
    verdict = "[bold green]claim holds[/]" if result.passed else "[bold red]claim fails[/]"
    console.print(verdict)


@contextmanager
def search_progress() -> Iterator[Callable[[str], None] | None]:
    """A progress line on stderr while searching, only when stderr is a terminal."""
    console = make_console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("searching d: {task.description}"),
        TextColumn("({task.completed} fits)"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("start", total=None)

        def update(message: str) -> None:
            bar.update(task, description=message, advance=1)

        yield update


_SWEEP_NAMES = {"jl": "jl (paper)", "opt": "opt (fit)", "poly": "poly (2k)"}
PLOT_HINT = (
    "matplotlib is not installed: pip install 'symcheck[plot]' (from a checkout: "
    "pip install '.[plot]')"
)


def render_sweep(result: SweepResult, to_stderr: bool = False) -> None:
    """The d against log₂ L table of a sweep, with each method's fitted slope."""
    eps, seed = result.targets, result.seed
    header = (f"[bold]sparse-sweep[/bold] {result.family}, k = {result.k}: ε₁ ≤ {eps.eps1:g}, "
              f"ε₂ ≤ {eps.eps2:g}; seed {seed} (targets from numpy default_rng([{seed}, L]); "
              f"methods seeded from {seed}); opt time limit {result.time_limit:g} s per L")
    console = make_console(stderr=to_stderr)
    console.print(header)
    columns = [Column("L"), Column("log₂ L"), Column("max nnz/row")]
    for m in result.methods:
        name = _SWEEP_NAMES.get(m, m)
        columns += [Column(name), Column("time", name=f"{name} time", least=len("99.9 s"))]
    rows = []
    for row in result.rows:
        cells = [str(row.size), f"{row.log2_size:.0f}", str(row.max_row_nnz)]
        for m in result.methods:
            c = row.cells.get(m)
            if c is None:
                cells += ["-", "-"]
                continue
            shown = str(c.d) if c.d is not None else ("skip" if c.note.startswith(("skip", "not"))
                                                      else "none")
            cells += [shown, f"{c.seconds:.1f} s" if c.seconds else "-"]
        rows.append(cells)
    print_table(console, columns, rows, title="smallest verified d (d = column count of W_Q)")
    for m in result.methods:
        fit = result.slope(m)
        name = _SWEEP_NAMES.get(m, m)
        if fit is None:
            console.print(f"{name}: fewer than two verified lengths, no slope")
        else:
            console.print(fit_line(name, *fit))
    notes = sorted({f"{_SWEEP_NAMES.get(m, m)}: {c.note}" for r in result.rows
                    for m, c in r.cells.items() if c.note})
    for note in notes:
        console.print(note)
    console.print(f"total {result.seconds:.1f} s")


def fit_line(name: str, slope: float, intercept: float) -> str:
    """One method's least-squares line, its slope shown once and as the table rounds it.

    >>> fit_line("opt", 0.75, 1.5)
    'opt: slope 0.750 per log₂ L (least squares d ≈ 1.5 + 0.750·log₂ L)'
    >>> fit_line("poly", -1e-17, 4.0)
    'poly: slope 0 per log₂ L (least squares d ≈ 4.0 at every L)'
    """
    shown = _slope(slope)
    if shown == "0":
        return f"{name}: slope 0 per log₂ L (least squares d ≈ {intercept:,.1f} at every L)"
    sign = "+" if slope >= 0 else "−"
    return (f"{name}: slope {shown} per log₂ L (least squares d ≈ {intercept:,.1f} {sign} "
            f"{_slope(abs(slope))}·log₂ L)")


def _slope(value: float) -> str:
    return "0" if abs(value) < 5e-4 else f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"


def plot_unavailable() -> str | None:
    """None when matplotlib can be imported, else how to install it."""
    import importlib.util

    return None if importlib.util.find_spec("matplotlib") is not None else PLOT_HINT


def plot_sweep(result: SweepResult, path: str) -> None:
    """d against log₂ L, one line per method (log-scaled d: jl needs thousands)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    markers = {"jl": "s", "opt": "o", "poly": "^"}
    for m in result.methods:
        pts = [(r.log2_size, r.cells[m].d) for r in result.rows
               if m in r.cells and r.cells[m].d is not None]
        if not pts:
            continue
        xs, ys = zip(*pts, strict=True)
        fit = result.slope(m)
        label = _SWEEP_NAMES.get(m, m)
        if fit is not None:
            label += f" (slope {_slope(fit[0])} per log₂ L)"
        ax.plot(xs, ys, marker=markers.get(m, "."), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("log₂ L")
    ax.set_ylabel("smallest verified d")
    t = result.targets
    ax.set_title(f"{result.family}, k = {result.k}, ε = {t.eps1:g}, seed {result.seed}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:  # atomically, with the permissions any output of symcheck gets (0666 less the umask)
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=120), "plot")
    finally:
        plt.close(fig)


def render_written(what: str, path: str, detail: str = "", to_stderr: bool = False) -> None:
    """The line that says an output file is in place: ``plot saved: sweep.png``."""
    line = f"{what} saved: {path}" + (f"  ({detail})" if detail else "")
    print_plain(make_console(stderr=to_stderr), line)
