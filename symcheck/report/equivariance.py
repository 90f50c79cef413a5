"""Rich report of an :class:`~symcheck.engine.EquivarianceResult` (plain text off a terminal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from symcheck.report import Column, fmt_float, fmt_tolerance, make_console, print_plain, print_table

if TYPE_CHECKING:
    from rich.console import Console

    from symcheck.app.replay_runner import ReplayResult
    from symcheck.app.weights_runner import StackResult
    from symcheck.engine.equivariance import EquivarianceResult, GroupResult
    from symcheck.engine.problem import MaskUse

_VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "non-finite": "bold magenta"}


def describe_failure(g: GroupResult) -> str:
    """One line: the worst case of a failing group, the output it fails in (when there are
    several), where its largest difference is, and how many of that output's elements differ
    (by more than the tolerance × the output's RMS: a case above its tolerance always has
    one)."""
    m = g.measurement
    w = g.worst
    if not w.finite:
        return f"{m.name}: case {w.case} produced NaN/Inf in the output"
    k = w.where[0]
    idx = ",".join(str(i) for i in w.where[1])
    several = len(m.outputs) > 1
    which = f"{m.outputs[k]}: " if several else ""
    pooled = f" (all outputs pooled: {w.pooled:.3e})" if several else ""
    return (
        f"{m.name}: worst case {w.case}: {which}relative error {w.output_error(k):.3e} > "
        f"tolerance {g.output_tolerance(k):.1e}{pooled}; largest |f(g·x) − g·f(x)| = "
        f"{w.max_abs:.3e} at output {k}[{idx}]; {w.mismatched}/{w.total} elements"
        f"{f' of output {k}' if several else ''} differ"
    )


def print_groups(console: Console, groups: Sequence[GroupResult], tolerance: bool = True) -> None:
    """The table of groups; a narrow terminal turns it (one column per group) before it would
    cut a number or leave one out. With several outputs, each group's row is followed by one
    row per output, its errors on its own scale (what the verdict judges)."""
    from rich.text import Text

    names = ["cases", "max error", "median", "p99", *(["tolerance"] if tolerance else []),
             "noise floor"]
    columns = [Column("group", "left", "last"), *map(Column, names), Column("verdict")]
    rows = []
    for g in groups:
        m = g.measurement
        numbers = [str(len(m.cases)), fmt_float(m.stat(100)), fmt_float(m.stat(50)),
                   fmt_float(m.stat(99)), *([fmt_tolerance(g.tolerance)] if tolerance else []),
                   fmt_float(m.noise_floor)]
        rows.append([Text(m.name), *map(Text, numbers),
                     Text(g.verdict.upper(), style=_VERDICT_STYLE[g.verdict])])
        if len(m.outputs) < 2:
            continue
        for row in g.output_rows():
            cells = [str(len(m.cases)), fmt_float(row["max"]), fmt_float(row["median"]),
                     fmt_float(row["p99"]),
                     *([fmt_tolerance(row["tolerance"])] if tolerance else []), ""]
            mark = "within" if row["passed"] else "above"
            rows.append([Text(f"  {row['label']}"), *map(Text, cells), Text(mark)])
    print_table(console, columns, rows, header_style="bold")


def render(result: EquivarianceResult, replay: str | None, to_stderr: bool = False) -> None:
    from rich.markup import escape

    console = make_console(stderr=to_stderr)
    sizes = ", ".join(f"{k}={v}" for k, v in result.sizes.items())
    inputs, outputs = ", ".join(map(str, result.inputs)), ", ".join(map(str, result.outputs))
    console.print(
        f"symcheck equivariance: [bold]{escape(result.model)}[/]  "
        f"({escape(inputs)}) → ({escape(outputs)})  "
        f"sizes {sizes}"
    )
    probes = "structured, input and size probes" if result.probes else "structured probes"
    console.print(
        f"seed {result.seed}  trials {result.trials} Haar + {probes} per group  dtype "
        f"{result.dtype}  tolerance {result.tolerance:.1e}  inputs {result.data_source}",
        markup=False,
    )
    if result.calibration is not None and result.calibration.shown:
        print_plain(console, result.calibration.describe())
    if result.mask is not None:
        print_plain(console, describe_mask(result.mask))
    print_groups(console, result.groups)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    for line in notes(result):
        print_plain(console, f"note: {line}")
    if not print_failures(console, result.groups, replay):
        console.print(f"[bold green]PASS[/]: {escape(_property(result))}")
        print_plain(console, confidence(result))


def print_failures(console: Console, groups: Sequence[GroupResult], replay: str | None,
                   causes: Sequence[str] = (), what: str = "") -> bool:
    """A ✗ line per failing group set (then per named cause), the FAIL line naming the broken
    ones (``what``: of which part), and the replay command; whether anything failed."""
    from rich.markup import escape

    failing = [g for g in groups if not g.passed]
    for line in [*map(describe_failure, failing), *causes]:
        console.print(f"[red]✗[/] {escape(line)}")
    if not failing:
        return False
    broken = ", ".join(g.measurement.name for g in failing)
    where = f" ({what})" if what else ""
    console.print(f"[bold red]FAIL[/]: broken{escape(where)}: {escape(broken)}")
    if replay:
        print_plain(console, f"replay the worst case: {replay}")
    return True


def notes(result: EquivarianceResult) -> list[str]:
    """What the reader should know beside the numbers: PASSes that round-off explains, and
    probes outside the model's domain."""
    out = [f"{g.measurement.name}: {g.note}" for g in result.groups if g.note]
    return out + result.notes


def confidence(result: EquivarianceResult) -> str:
    """The rule of three: what N random cases without a failure rule out."""
    n = min((g.measurement.random_cases for g in result.groups), default=0)
    if n == 0:
        return "no random cases: nothing is claimed about the rest of the group"
    if n <= 3:  # 3/N would be 100 % or more
        return (f"no failure in {n} Haar-random case{'s' if n > 1 else ''} per group: too few "
                "to bound the share of elements that break the symmetry (the rule of three, "
                "3/N, needs N > 3; the probes target the rest)")
    return (f"no failure in {n} Haar-random cases per group: at 95 % confidence, elements that "
            f"break the symmetry make up at most {3 / n:.0%} of each group (rule of three, 3/N; "
            "the probes target the rest)")


def _property(result: EquivarianceResult) -> str:
    """'equivariant under O(d); invariant under S(n)': a group that changes no output (no
    output carries its label, holds positions along it, or has a channel its reversals
    complement) is an invariance."""
    equi: list[str] = []
    inv: list[str] = []
    for g in result.groups:
        m = g.measurement
        oriented = m.oriented or (False,) * len(m.labels)
        acts_on_output = any(spec.moved_by(label, turns)
                             for label, turns in zip(m.labels, oriented, strict=True)
                             for spec in result.outputs)
        (equi if acts_on_output else inv).append(m.name)
    parts = [f"equivariant under {', '.join(equi)}"] if equi else []
    parts += [f"invariant under {', '.join(inv)}"] if inv else []
    return "; ".join(parts)


def render_stack(stack: StackResult, to_stderr: bool = False) -> None:
    """The layers of a whole-stack check and what folding did."""
    console = make_console(stderr=to_stderr)
    print_plain(console, f"whole stack of {stack.path}: {len(stack.layers)} layers in order "
                f"({', '.join(stack.layers)})")
    for line in stack.folded:
        print_plain(console, f"folded: {line}")
    for line in stack.not_folded:
        print_plain(console, f"not folded: {line}")


def render_saved(path: str, to_stderr: bool = False) -> None:
    """Where the counterexample went, and how to re-run it."""
    import shlex

    print_plain(make_console(stderr=to_stderr),
                f"counterexample saved: {path}  (re-run: symcheck replay {shlex.quote(path)})")


def render_replay(result: ReplayResult, to_stderr: bool = False) -> None:
    """Stored error against the error of the model as it is now, and which file ran."""
    from rich.markup import escape

    meta, case = result.meta, result.case
    console = make_console(stderr=to_stderr)
    console.print(
        f"symcheck replay: [bold]{escape(str(meta.get('name', meta['model'])))}[/] "
        f"({escape(result.model_file)})  group {escape(str(meta['group']))}  case "
        f"{escape(str(meta['case']))}  seed {meta['seed']}"
    )
    console.print(f"stored error {fmt_float(float(meta['error']))}  now "
                  f"{fmt_float(case.error)}  tolerance {fmt_tolerance(result.tolerance)}")
    if not result.passed:
        idx = ",".join(str(i) for i in case.where[1])
        where = f" at output {case.where[0]}[{idx}]" if case.finite else " (NaN/Inf output)"
        console.print(f"[bold red]FAIL[/]: still broken{where}")
    else:
        console.print("[bold green]PASS[/]: the counterexample no longer fails")


def describe_mask(mask: MaskUse) -> str:
    """Which input hides padding, which way it reads, and how much of each case is compared.

    >>> from symcheck.engine.problem import MaskUse
    >>> describe_mask(MaskUse(1, "pad", True, 8, 12))
    'mask pad (True at padding): 8 of its 12 positions compared, 4 padding not compared'
    """
    polarity = "True at padding" if mask.padding else "True where valid"
    return (f"mask {mask.name} ({polarity}): {mask.compared} of its {mask.positions} positions "
            f"compared, {mask.positions - mask.compared} padding not compared")
