"""Run symcheck on every kernel sample and write the table of docs/form.md between its markers.

    python samples/kernels/make_table.py            # rewrite the table in docs/form.md
    python samples/kernels/make_table.py --check    # exit 1 if docs/form.md is out of date
    python samples/kernels/make_table.py --print    # print the table only

Every number comes from symcheck's Python API (the same numbers the CLI prints):

- S(n), O(d) with weights as knowledge: :func:`symcheck.check_equivariance` with the sample's
  declared specs; the weights (parameters with array defaults) are fixed inputs via ``data``,
  and their embedding axes are labelled ``d``, so O(d) turns them with X and K.
- O(d) with fixed weights: the same call with the weights' ``d`` axes relabelled ``d_fixed``
  (:func:`symcheck.form.hold_weights_fixed`), a label no group acts on.
- span residual and coefficient invariance: :func:`symcheck.form.check_form` with
  ``weights="fixed"`` (Z = [X; K]) and ``weights="cotransform"`` (the weight vectors join K).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent.parent / "docs" / "form.md"
START, END = "<!-- generated: kernels-table -->", "<!-- end: kernels-table -->"
SEED = 0

#: (file, callable, what it is)
SAMPLES: tuple[tuple[str, str, str], ...] = (
    ("exponential.py", "symmetric", "softmax, W_q = W_k"),
    ("exponential.py", "asymmetric", "softmax, W_q ≠ W_k"),
    ("exponential.py", "with_values", "softmax, values Z·W_in·W_outᵀ"),
    ("rbf.py", "symmetric", "RBF, W_q = W_k"),
    ("rbf.py", "asymmetric", "RBF, W_q ≠ W_k"),
    ("polynomial.py", "symmetric", "polynomial ⟨q,k⟩², W_q = W_k"),
    ("polynomial.py", "asymmetric", "polynomial ⟨q,k⟩², W_q ≠ W_k"),
    ("linear.py", "symmetric", "linear ⟨q,k⟩, W_q = W_k"),
    ("linear.py", "asymmetric", "linear ⟨q,k⟩, W_q ≠ W_k"),
    ("positional.py", "product_kernel", "product kernel k_F·k_T (positions)"),
    ("linear_attention.py", "projected", "linear attention, elu+1 on x·W_q, z·W_k"),
    ("linear_attention.py", "embedding", "linear attention, elu+1 on x, z"),
    ("controls.py", "coordinate_mlp", "control: per-coordinate MLP"),
    ("controls.py", "layernorm", "control: LayerNorm (gain, bias)"),
    ("controls.py", "layernorm_block", "control: x + attention(LayerNorm(x))"),
    ("controls.py", "rmsnorm", "control: RMSNorm, no gain"),
    ("controls.py", "token_mlp", "control: per-token MLP relu(x·W_1)·W_2ᵀ"),
)


@dataclass(frozen=True)
class Row:
    """One sample's measured verdicts and numbers."""

    target: str
    what: str
    s_n: bool
    o_fixed: bool
    o_knowledge: bool
    span_fixed: float
    span_knowledge: float
    invariance_fixed: float
    invariance_knowledge: float
    form_fixed: bool
    form_knowledge: bool


def load(file: str, name: str) -> Callable[..., Any]:
    from symcheck.sources.python import load_python

    fn: Callable[..., Any] = load_python(f"{HERE / file}:{name}").obj
    return fn


def measure(file: str, name: str, what: str, trials: int | None = None) -> Row:
    """Run every check of one table row."""
    from symcheck import check_equivariance
    from symcheck.api import check_form
    from symcheck.core.signature import signature_of
    from symcheck.engine.form_judge import array_defaults, embedding_label, hold_weights_fixed

    fn = load(file, name)
    sig = signature_of(fn)
    assert sig is not None, f"{file}:{name} declares no signature"
    data = array_defaults(fn, len(sig.inputs))
    weights = [i for i, a in enumerate(data) if a is not None]
    held = hold_weights_fixed(sig, weights, embedding_label(sig))
    fixed_specs = tuple(str(s) for s in held.inputs)

    def equivariant(groups: str, inputs: tuple[str, ...] | None = None) -> bool:
        return check_equivariance(fn, inputs=inputs, groups=[groups], data=data, seed=SEED,
                                  trials=trials).passed

    # The table shows no attention-likeness numbers, so the pooled log-bilinear fit is skipped.
    fixed = check_form(fn, weights="fixed", seed=SEED, trials=trials, fit=False)
    knowledge = check_form(fn, weights="cotransform", seed=SEED, trials=trials, fit=False)

    def value(result: Any, key: str) -> float:
        v = result.diagnostic(key).value
        return float("nan") if v is None else float(v)

    return Row(
        target=f"{file}:{name}", what=what,
        s_n=equivariant("S(n)"), o_fixed=equivariant("O(d)", fixed_specs),
        o_knowledge=equivariant("O(d)"),
        span_fixed=value(fixed, "span_residual"),
        span_knowledge=value(knowledge, "span_residual"),
        invariance_fixed=value(fixed, "coefficient_invariance"),
        invariance_knowledge=value(knowledge, "coefficient_invariance"),
        form_fixed=fixed.passed, form_knowledge=knowledge.passed,
    )


def measure_all(trials: int | None = None) -> list[Row]:
    return [measure(f, n, w, trials) for f, n, w in SAMPLES]


def _verdict(ok: bool) -> str:
    return "pass" if ok else "**fail**"


def _num(x: float) -> str:
    """One significant digit; round-off-level values as ``<1e-13`` (their digits vary by BLAS)."""
    if x != x:
        return "n/a"
    return "<1e-13" if x < 1e-13 else f"{x:.0e}"


HEADER = (
    "| sample | kernel | S(n) | O(d), fixed W | O(d), W as knowledge "
    "| span residual (fixed W / W as K) | coef. invariance (fixed W / W as K) "
    "| form (fixed W / W as K) |"
)


def render(rows: list[Row]) -> str:
    lines = [HEADER, "|" + "---|" * 8]
    for r in rows:
        lines.append(
            f"| `{r.target}` | {r.what} | {_verdict(r.s_n)} | {_verdict(r.o_fixed)} "
            f"| {_verdict(r.o_knowledge)} | {_num(r.span_fixed)} / {_num(r.span_knowledge)} "
            f"| {_num(r.invariance_fixed)} / {_num(r.invariance_knowledge)} "
            f"| {'holds' if r.form_fixed else 'fails'} / "
            f"{'holds' if r.form_knowledge else 'fails'} |"
        )
    return "\n".join(lines)


def splice(text: str, table: str) -> str:
    """``text`` with everything between the markers replaced by ``table``."""
    if START not in text or END not in text:
        raise SystemExit(f"{PAGE}: markers {START} ... {END} not found")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/form.md is stale")
    parser.add_argument("--print", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    table = render(measure_all())
    if args.print:
        print(table)
        return 0
    text = PAGE.read_text(encoding="utf-8")
    new = splice(text, table)
    if args.check:
        if new != text:
            print("docs/form.md kernel table is out of date: run samples/kernels/make_table.py")
            return 1
        return 0
    if new != text:
        PAGE.write_text(new, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
