"""Rich report of a :class:`~symcheck.sources.weights.check.WeightsResult`.

The requested check first (the exit code follows it), then the full breakdown — S(n), O(d)
with co-transformed weights, O(d) with fixed weights, for each component and each part; "n/a"
where a part's inputs carry no axis the group turns — and one line per failure naming the parts
that fail the same group alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from symcheck.core.signature import WEIGHT_MODE_NAMES as _MODE
from symcheck.report import Column, fmt_float, make_console, print_plain, print_table
from symcheck.report.equivariance import notes as check_notes
from symcheck.report.equivariance import print_failures, print_groups

if TYPE_CHECKING:
    from symcheck.engine.equivariance import GroupResult
    from symcheck.sources.weights.check import Cause, WeightsResult

_STYLE = {"pass": "green", "fail": "red", "non-finite": "magenta", "n/a": "dim"}


def describe_cause(c: Cause) -> str:
    """One line: which group fails where, and which parts fail it alone (as measured)."""
    head = f"{c.group} (weights {_MODE[c.mode]}) fails in {c.component}"
    if c.culprits:
        parts = ", ".join(f"{name} (alone: {_cell(g)})" for name, g in c.culprits)
        text = f"{head}: caused by {parts}"
    else:
        text = f"{head}: no part fails it alone; the failure comes from how the parts combine"
    if c.passing:
        text += f"; pass alone: {', '.join(c.passing)}"
    if c.untestable:
        text += (f"; not checkable alone (no input turned by {c.group}): "
                 f"{', '.join(c.untestable)}")
    if c.cotransformed is not None and c.cotransformed.passed:
        text += (f"; with co-transformed weights {c.component} passes {c.group} (max error "
                 f"{fmt_float(c.cotransformed.measurement.stat(100))}): the weights must turn "
                 "with the embedding")
    if c.cases:
        text += f"; each part measured alone on the {c.component}'s own {c.cases} cases"
    return text


def not_applicable(result: WeightsResult) -> list[str]:
    """Why each n/a cell of the breakdown is one (one line per unit and column)."""
    from symcheck.sources.weights.check import BREAKDOWN

    lines = []
    for row in result.breakdown:
        for label, mode, group in BREAKDOWN:
            if label in row.checks and row.checks[label] is None:
                specs = ", ".join(repr(s) for s in row.inputs.get(mode, ()))
                lines.append(f"{row.unit}, {label}: no axis of its inputs ({specs}) is turned "
                             f"by {group}; only its output would turn, a failure by "
                             "construction, not a measurement")
    return lines


def _cell(g: GroupResult | None) -> str:
    if g is None:
        return "n/a"
    if g.verdict == "non-finite":
        return "NaN/Inf"
    return f"{g.verdict.upper()} {fmt_float(g.measurement.stat(100))}"


def render(result: WeightsResult, replay: str | None, to_stderr: bool = False) -> None:
    from rich.markup import escape
    from rich.text import Text

    console = make_console(stderr=to_stderr)
    layer, req = result.layer, result.requested
    sizes = ", ".join(f"{k}={v}" for k, v in layer.sizes.items())
    console.print(f"symcheck equivariance: [bold]{escape(str(result.path))}[/]  layout "
                  f"{escape(layer.layout)}  layer {escape(layer.name)}")
    print_plain(console, f"weights {sizes} (from the file)  heads {layer.heads} (from "
                f"{result.heads_source})  test sequence n={req.sizes.get('n')}")
    groups = ", ".join(map(str, result.groups))
    console.print(
        f"checked: {result.component}, weights {_MODE[result.mode]}, groups "
        f"{groups}  seed {req.seed}  trials {req.trials} Haar + probes per "
        f"group  dtype {req.dtype}  tolerance {req.tolerance:.1e}")
    for note in result.notes:
        print_plain(console, f"note: {note}")
    if req.calibration is not None and req.calibration.shown:
        print_plain(console, req.calibration.describe())

    print_groups(console, req.groups, tolerance=False)
    for line in check_notes(req):  # why a PASS above the tolerance is round-off, and the like
        print_plain(console, f"note: {line}")
    if result.breakdown:  # only with the breakdown asked for, or where a cause had to be named
        labels = list(result.breakdown[0].checks)
        columns = [Column("component / part", "left", "last"), *map(Column, labels)]
        rows = [[Text(row.unit if row.kind == "component" else f"  {row.unit}"),
                 *(Text(_cell(g), style=_STYLE["n/a" if g is None else g.verdict])
                   for g in (row.checks[label] for label in labels))]
                for row in result.breakdown]
        print_table(console, columns, rows, title="breakdown (max relative error)",
                    title_justify="left", header_style="bold")
    for line in not_applicable(result):
        print_plain(console, f"n/a: {line}")

    for warning in req.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    what = f"{result.component}, weights {_MODE[result.mode]}"
    if not print_failures(console, req.groups, replay,
                          [describe_cause(c) for c in result.causes], what):
        names = ", ".join(g.measurement.name for g in req.groups)
        console.print(f"[bold green]PASS[/]: equivariant under {escape(names)} ({escape(what)})")
