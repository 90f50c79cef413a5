"""Reports of ``symcheck check``: each run check described in words (:class:`CheckOutcome`),
the summary table, the JSON document, GitHub annotations.

Plain-text pieces (the per-check report and summary lines, the annotations) are built from the
result objects without rich, so the JUnit and JSON writers can use them; only
:func:`render_summary` draws with rich, imported when it is called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from symcheck.core.verdicts import Serialised, key
from symcheck.report import fmt_float, fmt_tolerance

if TYPE_CHECKING:
    from symcheck.app.checks import CheckRun
    from symcheck.app.outcomes import Reproduction
    from symcheck.engine.equivariance import EquivarianceResult
    from symcheck.sparse import SparseApproxResult


@dataclass(frozen=True)
class CommandLines:
    """The command lines a report shows, from the door that runs the checks (its options are
    its own spelling): the one that replays a worst case, the one that reruns a check."""

    replay: Callable[[Reproduction], str | None]
    rerun: Callable[[str, str | None], str]  # (check name, configuration file as shown)


@dataclass
class CheckOutcome(Serialised):
    """One check as the reports show it; :meth:`to_dict` is its entry in the JSON report."""

    name: str
    kind: str
    verdict: str  # a Verdict: "pass" | "fail" | "non-finite" | "inconclusive" | "error"
    summary: str  # one line: what broke (or what holds)
    report: str = ""  # plain text: the failing cases and the replay command
    numbers: dict[str, Any] = field(default_factory=dict)  # e.g. max error per group
    seconds: float = 0.0
    file: str | None = None
    line: int | None = None
    replay: str | None = None  # the command that reproduces the worst failing case
    #: the full result, as JSON
    details: dict[str, Any] | None = field(default=None, metadata=key("result"))

    json_order = ("name", "kind", "verdict", "summary", "numbers", "seconds", "file", "line",
                  "replay", "report", "details")

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def broken(self) -> bool:
        """A result that is not a pass, as opposed to a check that could not run."""
        return self.verdict not in ("pass", "error")


def describe(run: CheckRun, commands: CommandLines) -> CheckOutcome:
    """A run check in words: summary line, report text, key numbers, replay command."""
    base: dict[str, Any] = {"name": run.name, "kind": run.kind, "verdict": str(run.verdict.value),
            "seconds": run.seconds, "file": run.file, "line": run.line}
    outcome = run.outcome
    if outcome is None:
        message = run.error or "could not run"
        return CheckOutcome(**base, summary=message, report=message)
    rerun = commands.rerun(run.name, run.config)
    if run.kind == "matrix":
        result = outcome.result
        replay = None if outcome.passed else rerun
        best = result.best
        numbers: dict[str, Any] = {"d": None if best is None else best.d,
                                   "max_d": result.max_d, "lower_bound": result.lower_bound,
                                   "L": result.size}
        if best is not None and best.precision is not None:
            numbers.update(eps1=best.precision.eps1, eps2=best.precision.eps2)
        return CheckOutcome(**base, summary=matrix_summary(result),
                            report=matrix_report(result, replay), numbers=numbers,
                            replay=replay, details=_as_json(result))
    replay = None if outcome.reproduction is None else commands.replay(outcome.reproduction)
    if run.kind == "weights":
        from symcheck.report.weights import describe_cause

        weights = outcome.result
        requested = weights.requested
        lines = [equivariance_report(requested, None),
                 *(f"✗ {describe_cause(c)}" for c in weights.causes),
                 *(f"note: {n}" for n in weights.notes)]
        if replay:
            lines.append(f"replay the worst case: {replay}")
        return CheckOutcome(
            **base, summary=f"{equivariance_summary(requested)}; weights {weights.mode}, "
            f"component {weights.component}", report="\n".join(lines),
            numbers=_numbers(requested), replay=replay, details=weights.to_dict(),
        )
    result = outcome.result
    report = equivariance_report(result, replay)
    if not outcome.passed:
        report += f"\nrerun this check: {rerun}"
    return CheckOutcome(**base, summary=equivariance_summary(result), report=report,
                        numbers=_numbers(result), replay=replay, details=result.to_dict())


def _numbers(result: EquivarianceResult) -> dict[str, Any]:
    return {"max_error": {g.measurement.name: g.measurement.stat(100) for g in result.groups},
            "tolerance": result.tolerance}


def _as_json(result: Any) -> dict[str, Any]:
    serialise = getattr(result, "to_dict", None) or result.to_dict
    payload: dict[str, Any] = serialise()
    return payload


def check_document(outcomes: Sequence[CheckOutcome], config: str) -> dict[str, Any]:
    """The JSON report of a ``symcheck check`` run."""
    c = counts(outcomes)
    return {
        "config": config, "verdict": "pass" if all(o.passed for o in outcomes) else "fail",
        "passed": c["pass"], "failed": c["fail"], "errors": c["error"],
        "seconds": sum(o.seconds for o in outcomes), "checks": [o.to_dict() for o in outcomes],
    }

_VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "non-finite": "bold red",
                  "inconclusive": "bold yellow", "error": "bold magenta"}


def equivariance_summary(result: EquivarianceResult) -> str:
    """One line: what is broken and how badly, or what holds."""
    failing = [g for g in result.groups if not g.passed]
    if not failing:
        largest = max((g.measurement.stat(100) for g in result.groups), default=0.0)
        names = ", ".join(g.measurement.name for g in result.groups)
        return (f"equivariant under {names} (max error {fmt_float(largest)} ≤ tolerance "
                f"{fmt_tolerance(result.tolerance)})")
    worst = result.worst_failure()
    assert worst is not None  # failing is not empty
    w = worst.measurement.worst
    how = ("NaN/Inf in the output" if not w.finite else
           f"relative error {fmt_float(w.error)} > tolerance {fmt_tolerance(result.tolerance)}")
    broken = ", ".join(g.measurement.name for g in failing)
    return (f"{result.model} is not equivariant under {broken}: {how} "
            f"(worst case {w.case_id.ref}, seed {result.seed})")


def equivariance_report(result: EquivarianceResult, replay: str | None) -> str:
    """Plain text: one line per group, the failing groups' worst cases, the replay command."""
    from symcheck.report.equivariance import describe_failure, notes

    sizes = ", ".join(f"{k}={v}" for k, v in result.sizes.items())
    inputs, outputs = ", ".join(map(str, result.inputs)), ", ".join(map(str, result.outputs))
    lines = [
        f"{result.model}: ({inputs}) -> ({outputs}), "
        f"sizes {sizes}, seed {result.seed}, {result.trials} Haar trials + probes per group, "
        f"dtype {result.dtype}, tolerance {fmt_tolerance(result.tolerance)}",
    ]
    width = max(len(g.measurement.name) for g in result.groups)
    for g in result.groups:
        m = g.measurement
        lines.append(f"  {m.name:<{width}}  max error {fmt_float(m.stat(100)):>9}  "
                     f"noise floor {fmt_float(m.noise_floor):>9}  {g.verdict.upper()}")
    lines += [f"warning: {w}" for w in result.warnings]
    lines += [f"note: {n}" for n in notes(result)]
    lines += [f"✗ {describe_failure(g)}" for g in result.groups if not g.passed]
    if replay:
        lines.append(f"replay the worst case: {replay}")
    return "\n".join(lines)


def matrix_summary(result: SparseApproxResult) -> str:
    """One line: the hidden size found, or that none within ``max_d`` meets the precision."""
    t = result.targets
    wanted = f"precision ε₁ ≤ {t.eps1:g}, ε₂ ≤ {t.eps2:g}"
    best = result.best
    if best is not None:
        return (f"d = {best.d} reproduces {result.source} (L = {result.size}) to {wanted} "
                f"(method {best.method}; max_d {result.max_d})")
    return (f"no hidden size d ≤ {result.max_d} reproduces {result.source} (L = {result.size}) "
            f"to {wanted} (lower bound d ≥ {result.lower_bound})")


def matrix_report(result: SparseApproxResult, replay: str | None) -> str:
    """Plain text: the target, each method's verified d and achieved precision, the bounds."""
    t = result.targets
    lines = [
        f"{result.source}: L = {result.size}, {result.nnz} nonzeros (at most "
        f"{result.max_row_nnz} per row), target ε₁ ≤ {t.eps1:g}, ε₂ ≤ {t.eps2:g}, seed "
        f"{result.seed}, max_d {result.max_d}",
    ]
    for m in result.methods:
        found = "no d verified" if m.d is None else f"d = {m.d}"
        if m.precision is not None:
            found += f" (ε₁ {fmt_float(m.precision.eps1)}, ε₂ {fmt_float(m.precision.eps2)})"
        note = f"; {m.note}" if m.note else ""
        lines.append(f"  {m.method}: {found}, {m.seconds:.2f} s, {m.stopped}{note}")
    lines.append(f"  lower bound d ≥ {result.lower_bound} ({result.lower_bound_reason}); "
                 f"paper's bound {result.paper_bound:.3g}; log2 L = {result.log2_size:.2f}")
    if replay:
        lines.append(f"rerun: {replay}")
    return "\n".join(lines)


def key_numbers(outcome: CheckOutcome) -> str:
    """The numbers column of the summary table: max error per group, or what the kind reports."""
    if outcome.verdict == "error":
        return "-"
    n = outcome.numbers
    errors = n.get("max_error")
    if isinstance(errors, dict):
        return "  ".join(f"{name} {fmt_float(value)}" for name, value in errors.items())
    if outcome.kind == "matrix":
        found = "none" if n.get("d") is None else str(n["d"])
        text = f"d {found} (max {n.get('max_d')}, lower bound {n.get('lower_bound')})"
        if "eps1" in n:
            text += f"  ε₁ {fmt_float(n['eps1'])}  ε₂ {fmt_float(n['eps2'])}"
        return text
    return "  ".join(f"{k} {v if isinstance(v, int | str) else fmt_float(v)}"
                     for k, v in outcome.numbers.items())


def counts(outcomes: Sequence[CheckOutcome]) -> dict[str, int]:
    """Passed, failed (any result that is not a pass) and errors (checks that did not run)."""
    return {"pass": sum(o.passed for o in outcomes), "fail": sum(o.broken for o in outcomes),
            "error": sum(o.verdict == "error" for o in outcomes)}


def summary_line(outcomes: Sequence[CheckOutcome]) -> str:
    c = counts(outcomes)
    return f"{c['pass']} passed, {c['fail']} failed, {_plural(c['error'], 'error')}"


def render_summary(outcomes: Sequence[CheckOutcome], config: str,
                   to_stderr: bool = False) -> None:
    """The summary table, then each failing check's report and each error's message."""
    from rich.text import Text

    from symcheck.report import Column, make_console, print_plain, print_table

    console = make_console(stderr=to_stderr)
    console.print(f"symcheck check: {_plural(len(outcomes), 'check')} from {config}", markup=False)
    columns = [Column("check", "left", "last"), Column("kind", "left"),
               Column("max error / result", "left", "first"), Column("seconds", least=len("99.99")),
               Column("verdict")]
    rows = [[Text(o.name), Text(o.kind), Text(key_numbers(o)), Text(f"{o.seconds:.2f}"),
             Text(o.verdict.upper(), style=_VERDICT_STYLE[o.verdict])] for o in outcomes]
    print_table(console, columns, rows, header_style="bold")
    for o in outcomes:
        if o.broken:
            console.print(f"--- {o.name}: {o.verdict.upper()}", style="bold red", markup=False)
            print_plain(console, o.report)
        elif o.verdict == "error":
            console.print(f"--- {o.name}: ERROR", style="bold magenta", markup=False)
            print_plain(console, o.summary)
    verdict = "PASS" if all(o.passed for o in outcomes) else "FAIL"
    style = "bold green" if verdict == "PASS" else "bold red"
    console.print(Text.assemble((verdict, style), f": {summary_line(outcomes)}"))


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(outcomes: Sequence[CheckOutcome]) -> list[str]:
    """``::error`` workflow commands, one per failing or erroring check.

    >>> github_annotations([CheckOutcome("attn", "model", "fail", "50% off", file="m.py", line=3)])
    ['::error file=m.py,line=3,title=symcheck attn::50%25 off']
    """
    lines = []
    for o in outcomes:
        if o.passed:
            continue
        props = []
        if o.file:
            props.append(f"file={_escape_property(o.file)}")
            if o.line:
                props.append(f"line={o.line}")
        props.append(f"title={_escape_property(f'symcheck {o.name}')}")
        message = o.summary if o.broken else f"could not run: {o.summary}"
        if o.replay:
            message += f" | replay: {o.replay}"
        lines.append(f"::error {','.join(props)}::{_escape_data(message)}")
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
