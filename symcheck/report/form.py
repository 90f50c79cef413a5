"""Rich report of a :class:`~symcheck.form.FormResult` (plain text off a terminal)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from symcheck.core.errors import Phrase, Use
from symcheck.report import Column, fmt_float, make_console, print_plain, print_table

if TYPE_CHECKING:
    from symcheck.engine.form_judge import Diagnostic, FormResult

THEOREM = (
    "theorem (Ma & Ying 2022): if f(XQᵀ, KQᵀ) = f(X, K)Qᵀ for every orthogonal Q, then "
    "f(X, K) = C_X·X + C_K·K with C = [C_X | C_K] a function of the inner products of X and K "
    "alone; with S(n) the coefficients permute with the tokens."
)

#: what each diagnostic measures, and what its ideal value means
MEANING: dict[str, tuple[str, str]] = {
    "span_residual": (
        "span residual ‖out−CZ‖/‖out‖",
        "0: outputs combine the X and K vectors",
    ),
    "coefficient_invariance": (
        "invariance ‖C(XQᵀ,KQᵀ)−C‖/‖C‖",
        "0: coefficients depend on inner products only",
    ),
    "permutation_covariance": (
        "covariance ‖C(PX)−P·C·P_Zᵀ‖/‖C‖",
        "0: coefficients permute with the tokens",
    ),
    "negative_coefficients": (
        "negative share of Σ|C_ij|",
        "0: non-negative weights, as from a kernel",
    ),
    "row_sums": (
        "row sums max|Σ_j C_ij − 1|",
        "0: weighted averages (normalised smoother)",
    ),
    "log_bilinear_r2": (
        "R² of log C_ij ~ x_iᵀW z_j + b_i",
        "1: softmax-like: one shared bilinear score",
    ),
}

_STYLE = {"PASS": "bold green", "FAIL": "bold red", "yes": "green", "no": "yellow",
          "skipped": "dim"}


def _status(d: Diagnostic) -> str:
    if d.status == "skipped":
        return "skipped"
    if d.gating:
        return d.status.upper()
    return "yes" if d.status == "pass" else "no"


def _tolerance(d: Diagnostic) -> str:
    if d.tolerance is None:
        return ""
    if d.key == "log_bilinear_r2":
        return f"≥ {d.tolerance:.6g}"
    return f"≤ {fmt_float(d.tolerance, 1)}"


def fmt_r2(r2: float) -> str:
    """R² near 1 as ``1 − 3e-16`` (the gap is the informative part), else 4 decimals."""
    gap = 1.0 - r2
    if gap == 0:
        return "1"
    return f"1 − {gap:.0e}" if 0 < gap < 1e-4 else f"{r2:.4f}"


def describe_layout(result: FormResult) -> list[str]:
    """Lines saying which inputs became X and K, and whether the coefficients are unique."""
    m = result.measurement
    lay = m.layout
    parts = []
    for b in lay.blocks[1:]:
        kind = "columns" if b.transposed else ("vector" if b.row_label is None else "rows")
        tag = " weight" if b.input in result.weight_inputs else ""
        parts.append(f"input {b.input}{tag} {b.spec!r} ({b.rows} {kind})")
    x = lay.blocks[0]
    knowledge = ", ".join(parts) if parts else "none: no knowledge input, m = 0"
    lines = [f"Z = [X; K]: X = input {x.input} {x.spec!r} ({x.rows} vectors); K = {knowledge}"]
    if lay.invariant_inputs:
        held = ", ".join(f"input {i} {str(result.inputs[i])!r}" for i in lay.invariant_inputs)
        lines.append(f"left alone by Q (no {lay.embedding!r} axis, not in Z): {held}")
    if result.weight_inputs:
        ws = ", ".join(str(i) for i in result.weight_inputs)
        how = ("turned by Q with X and K and stacked into K (weights as knowledge)"
               if result.weights == "cotransform" else
               Phrase("held fixed: not turned by Q and not in Z (", Use("weights", "fixed"), ")"))
        lines.append(f"weights (parameters with array defaults, fixed values): inputs {ws}, {how}")
    sizes = f"n = {lay.n}, m = {lay.m}, d = {lay.d}"
    if m.unique:
        lines.append(f"{sizes} ≥ n + m = {lay.vectors}: coefficients unique "
                     f"(rank {m.min_rank}, cond(Z) ≤ {m.max_cond:.3g})")
    else:
        lines.append(
            f"{sizes}: the coefficients are NOT unique ({m.not_unique_reason}); measured only "
            "what stays valid: the span residual and the invariance and permutation covariance "
            "of the minimum-norm coefficients out·Z⁺ (the pseudo-inverse commutes with Q and P); "
            "attention-likeness skipped"
        )
    return lines


def render(result: FormResult, to_stderr: bool = False) -> None:
    from rich.markup import escape
    from rich.text import Text

    console = make_console(stderr=to_stderr)
    sizes = ", ".join(f"{k}={v}" for k, v in result.sizes.items())
    inputs, outputs = ", ".join(map(str, result.inputs)), ", ".join(map(str, result.outputs))
    console.print(
        f"symcheck form: [bold]{escape(result.model)}[/]  ({escape(inputs)}) "
        f"→ ({escape(outputs)})  sizes {sizes}",
    )
    print_plain(console, THEOREM)
    for line in describe_layout(result):
        print_plain(console, line)
    console.print(
        f"seed {result.seed}  trials {result.trials} Haar + probes  dtype {result.dtype}  "
        f"tolerance {result.tolerance:.1e} (span residual {result.span_tolerance:.1e})"
    )
    columns = [Column("diagnostic", "left", "last"), Column("value"), Column("tolerance"),
               Column("verdict"), Column("meaning", "left", "first")]
    rows = []
    for d in result.diagnostics:
        title, meaning = MEANING[d.key]
        value = "" if d.value is None else (
            fmt_r2(d.value) if d.key == "log_bilinear_r2" else fmt_float(d.value))
        status = _status(d)
        rows.append([Text(title), Text(value), Text(_tolerance(d)),
                     Text(status, style=_STYLE[status]), Text(meaning)])
    print_table(console, columns, rows, header_style="bold")
    for d in result.diagnostics:
        if d.note:
            where = f" (worst case {d.worst_case})" if d.worst_case and d.status == "fail" else ""
            print_plain(console, f"  {MEANING[d.key][0]}: {d.note}{where}")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if result.verdict == "non-finite":
        console.print("[bold magenta]NON-FINITE[/]: the model returned NaN/Inf on some draw")
    elif result.passed and not result.measurement.unique:
        console.print("[bold green]HOLDS[/] for the minimum-norm coefficients (not unique): "
                      "in span, invariant and covariant within tolerance; the attention-likeness "
                      "of the model's own coefficients is not measurable here")
    elif result.passed:
        console.print("[bold green]HOLDS[/]: the outputs have the attention form within tolerance")
    else:
        failing = [d for d in result.diagnostics if d.gating and d.status != "pass"]
        detail = "; ".join(
            f"{MEANING[d.key][0]} = {fmt_float(d.value) if d.value is not None else 'n/a'} "
            f"> {fmt_float(d.tolerance or 0.0, 1)} at {d.worst_case}" for d in failing
        )
        console.print(f"[bold red]FAILS[/]: {escape(detail)}")
