"""The Python API: :func:`check_equivariance`, :func:`assert_equivariant`, :func:`check_form`.

A door onto the same service as the CLI: it builds the problem from the arguments and the
callable's declaration, and returns the same result objects the CLI renders.

>>> import numpy as np
>>> check_equivariance(np.tanh, "n d", "n d", "S(n)", {"n": 4, "d": 2}).passed
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, overload

import numpy as np

from symcheck.app.outcomes import Outcome, Reproduction
from symcheck.app.requests import Declared, FormRequest, Measure, ModelRequest
from symcheck.app.service import run
from symcheck.core.errors import SpecError
from symcheck.core.tolerances import DEFAULT_RTOL
from symcheck.engine.equivariance import EquivarianceResult
from symcheck.engine.form_judge import FormResult

Array = np.ndarray


class EquivarianceError(AssertionError):
    """A symmetry is broken; ``.result`` holds the full measurement (the first failing dtype's
    when several were checked), ``.results`` every dtype's, in the order checked."""

    def __init__(self, message: str, result: EquivarianceResult,
                 results: Sequence[EquivarianceResult] = ()) -> None:
        super().__init__(message)
        self.result = result
        self.results = tuple(results) or (result,)


@overload
def assert_equivariant(
    fn: Callable[..., Any], inputs: str | Sequence[str] | None = None,
    output: str | Sequence[str] | None = None, groups: str | Sequence[str] | None = None,
    sizes: Mapping[str, int] | None = None, *, dtypes: None = None, **options: Any,
) -> EquivarianceResult: ...


@overload
def assert_equivariant(
    fn: Callable[..., Any], inputs: str | Sequence[str] | None = None,
    output: str | Sequence[str] | None = None, groups: str | Sequence[str] | None = None,
    sizes: Mapping[str, int] | None = None, *, dtypes: Sequence[str], **options: Any,
) -> tuple[EquivarianceResult, ...]: ...


def assert_equivariant(
    fn: Callable[..., Any],
    inputs: str | Sequence[str] | None = None,
    output: str | Sequence[str] | None = None,
    groups: str | Sequence[str] | None = None,
    sizes: Mapping[str, int] | None = None,
    *,
    dtypes: Sequence[str] | None = None,
    **options: Any,
) -> EquivarianceResult | tuple[EquivarianceResult, ...]:
    """Check ``fn`` like :func:`symcheck.check_equivariance`; raise if any group fails.

    ``dtypes=("float64", "float32")`` runs the whole check once per dtype (as e3nn's tests run
    at each default dtype), each judged against its own dtype's tolerance; it returns the
    results in that order and, when any fails, raises one error that gives every dtype's
    verdict and the failing dtypes' worst cases.

    >>> import numpy as np
    >>> assert_equivariant(np.tanh, "n d", "n d", "S(n)", {"n": 4, "d": 2}).passed
    True
    >>> [r.dtype for r in assert_equivariant(np.tanh, "n d", "n d", "S(n)", {"n": 4, "d": 2},
    ...                                      dtypes=("float64", "float32"))]
    ['float64', 'float32']
    """
    __tracebackhide__ = True  # pytest shows the user's call, not this frame
    if dtypes is not None:
        return _assert_at_dtypes(fn, (inputs, output, groups, sizes), dtypes, options)
    outcome = _model_outcome(fn, inputs, output, groups, sizes, **options)
    result: EquivarianceResult = outcome.result
    if result.passed:
        return result
    call = None if outcome.reproduction is None else python_call(outcome.reproduction)
    raise EquivarianceError(failure_message(result, call), result)


def _assert_at_dtypes(fn: Callable[..., Any], declared: tuple[Any, Any, Any, Any],
                      dtypes: Sequence[str], options: dict[str, Any]
                      ) -> tuple[EquivarianceResult, ...]:
    """Every dtype checked (none skipped after a failure); one error naming each verdict."""
    __tracebackhide__ = True
    chosen = _check_dtypes(dtypes, options)
    outcomes = [_model_outcome(fn, *declared, dtype=d, **options) for d in chosen]
    results = tuple(o.result for o in outcomes)
    failing = [o for o in outcomes if not o.result.passed]
    if not failing:
        return results
    lines = [f"{results[0].model} fails at {', '.join(o.result.dtype for o in failing)} "
             f"({len(failing)} of {len(results)} dtypes, each against its own tolerance):"]
    lines += [f"  {dtype_summary(r)}" for r in results]
    for o in failing:
        call = None if o.reproduction is None else python_call(o.reproduction)
        lines += ["", failure_message(o.result, call)]
    raise EquivarianceError("\n".join(lines), failing[0].result, results)


def _check_dtypes(dtypes: Sequence[str], options: Mapping[str, Any]) -> tuple[str, ...]:
    if "dtype" in options:
        raise SpecError(f"dtype={options['dtype']!r} and dtypes={dtypes!r} are both given; "
                        "give one", argument="dtypes", value=dtypes)
    chosen = (dtypes,) if isinstance(dtypes, str) else tuple(dtypes)
    if isinstance(dtypes, str) or not chosen or len(set(chosen)) != len(chosen):
        raise SpecError(f"{dtypes!r} must be a sequence of distinct dtypes such as "
                        "('float64', 'float32')", argument="dtypes", value=dtypes)
    for d in chosen:
        if d not in DEFAULT_RTOL:
            raise SpecError(f"{d!r} is not one of {', '.join(DEFAULT_RTOL)}",
                            argument="dtypes", value=d)
    return chosen


def dtype_summary(result: EquivarianceResult) -> str:
    """One dtype's check in one line, e.g. ``float32: fail (worst relative error 3.1e-02 >
    tolerance 1.0e-06 in S(n))``."""
    worst = result.worst_failure() or max(result.groups, key=lambda g: g.measurement.stat(100))
    name, error = worst.measurement.name, worst.measurement.worst.error
    if not worst.measurement.finite:
        return f"{result.dtype}: {result.verdict.value} (NaN/Inf in the output, {name})"
    within = "≤" if not error > result.tolerance else ">"
    roundoff = ", the model's own round-off" if result.passed and within == ">" else ""
    return (f"{result.dtype}: {result.verdict.value} (worst relative error {error:.1e} {within} "
            f"tolerance {result.tolerance:.1e} in {name}{roundoff})")


def failure_message(result: EquivarianceResult, call: str | None = None) -> str:
    """A torch.testing-style report of every failing group, ending with how to replay it.

    Per failing group, for its worst case and the output it fails in (each output is judged on
    its own scale): how many of that output's elements differ by more than ``tolerance ×
    RMS(f_k(x))`` (a case above its tolerance always has one), the greatest absolute
    (element-wise) difference and where it is, and the norm-wise relative error
    ``‖f_k(g·x) − g·f_k(x)‖ / ‖f_k(x)‖`` against its tolerance.
    """
    failing = [g for g in result.groups if not g.passed]
    names = ", ".join(g.measurement.name for g in failing)
    lines = [
        f"{result.model} is not equivariant under {names} ({len(failing)} of "
        f"{len(result.groups)} group checks fail; seed {result.seed}, {result.trials} Haar "
        f"trials + probes, dtype {result.dtype})",
    ]
    for g in failing:
        w = g.worst
        lines.append("")
        if not w.finite:
            lines.append(f"{g.measurement.name}: case {w.case} produced NaN/Inf in the output")
            continue
        index = ", ".join(str(i) for i in w.where[1])
        share = 100.0 * w.mismatched / w.total if w.total else 0.0
        k = w.where[0]
        lines += [
            f"{g.measurement.name}: worst case {w.case}"
            + (f", {g.measurement.outputs[k]}" if len(g.measurement.outputs) > 1 else ""),
            f"  Mismatched elements: {w.mismatched} / {w.total} ({share:.1f}%)",
            f"  Greatest absolute difference: {w.max_abs:.3e} at index ({index}) of output {k}",
            f"  Relative error (norm-wise, ‖f(g·x) − g·f(x)‖ / ‖f(x)‖): {w.output_error(k):.3e}"
            f" > tolerance {g.output_tolerance(k):.1e}",
        ]
    worst = result.worst_failure()
    assert worst is not None  # the result did not pass
    case = worst.measurement.worst.case_id.ref
    lines += ["", f"replay: {call or f'check_equivariance(..., seed={result.seed}, '}"
                  f"{'' if call else f'trials={result.trials}, case={case!r})'}"]
    return "\n".join(lines)


def _declared(inputs: str | Sequence[str] | None, output: str | Sequence[str] | None,
              groups: str | Sequence[str] | None, sizes: Mapping[str, int] | None) -> Declared:
    def many(value: str | Sequence[str] | None, argument: str) -> tuple[str, ...] | None:
        if value is None:
            return None
        items = (value,) if isinstance(value, str) else tuple(value)
        if not all(isinstance(v, str) for v in items):
            raise SpecError(f"expected strings such as 'n d', got {value!r}", argument=argument,
                            value=value)
        return items or None

    # the Python door: its strings are parsed here, once
    return Declared.parse(many(inputs, "inputs"), many(output, "outputs"),
                          many(groups, "groups"), dict(sizes) if sizes else None)


def check_equivariance(
    fn: Callable[..., Any],
    inputs: str | Sequence[str] | None = None,
    output: str | Sequence[str] | None = None,
    groups: str | Sequence[str] | None = None,
    sizes: Mapping[str, int] | None = None,
    *,
    data: Sequence[Array | None] | None = None,
    name: str | None = None,
    backend: str | None = None,
    mask: str | None = None,
    padding_mask: str | None = None,
    **options: Any,
) -> EquivarianceResult:
    """Measure and judge the equivariance of ``fn`` (a function, module or callable object).

    Arguments default to what ``fn`` declares with :func:`symcheck.equivariant`; the same
    service as ``symcheck equivariance`` runs it, so the numbers are the CLI's for the same seed.
    ``options`` are the measurement options, declared once in
    :class:`symcheck.core.options.Measure` (``trials``, ``seed``, ``rtol``, ``dtype``,
    ``case``, ``probes``, ``search``, ``batch``, ``timeout``: the signature lists them).
    ``mask`` / ``padding_mask`` name the input (given in ``data``) that is True where a
    position is valid / True at padding; padding is not compared.

    >>> import numpy as np
    >>> def softmax_attention(x):
    ...     s = x @ x.T
    ...     w = np.exp(s - s.max(1, keepdims=True))
    ...     return (w / w.sum(1, keepdims=True)) @ x
    >>> r = check_equivariance(softmax_attention, "n d", "n d", ["O(d)", "S(n)"], {"n": 6, "d": 4})
    >>> [g.verdict.value for g in r.groups]
    ['pass', 'pass', 'pass']
    """
    result: EquivarianceResult = _model_outcome(
        fn, inputs, output, groups, sizes, data=data, name=name, backend=backend, mask=mask,
        padding_mask=padding_mask, **options,
    ).result
    return result


def _model_outcome(
    fn: Callable[..., Any], inputs: str | Sequence[str] | None = None,
    output: str | Sequence[str] | None = None, groups: str | Sequence[str] | None = None,
    sizes: Mapping[str, int] | None = None, *, data: Sequence[Array | None] | None = None,
    name: str | None = None, backend: str | None = None, mask: str | None = None,
    padding_mask: str | None = None, **options: Any,
) -> Outcome:
    declared = replace(_declared(inputs, output, groups, sizes), mask=mask,
                       padding_mask=padding_mask)
    return run(ModelRequest(
        obj=fn, name=name, declared=declared, measure=Measure.from_keywords(options),
        backend=backend, arrays=data,
    ))


def python_call(r: Reproduction) -> str | None:
    """The recipe in the Python API's words: the :func:`check_equivariance` call that replays
    the worst failing case.

    >>> from symcheck.core.caseid import CaseId, GroupSet
    >>> from symcheck.core.signature import Signature
    >>> s = Signature.parse(("n d",), ("n d",), ("S(n)",))
    >>> r = Reproduction(kind="model", target=None, name="f", inputs=s.inputs,
    ...                  outputs=s.outputs, groups=s.groups, sizes={"n": 4},
    ...                  case=CaseId(GroupSet(("S(n)",)), "haar", 3))
    >>> print(python_call(r).replace(", ", ",\\n"))
    check_equivariance(f,
    inputs=['n d'],
    output=['n d'],
    groups=['S(n)'],
    sizes={'n': 4},
    seed=0,
    trials=20,
    case='S(n)/haar:3')
    """
    if r.case is None or r.kind != "model":
        return None
    m = r.measure
    parts = [r.name, f"inputs={[str(s) for s in r.inputs]!r}",
             f"output={[str(s) for s in r.outputs]!r}", f"groups={[str(g) for g in r.groups]!r}",
             f"sizes={dict(r.sizes)!r}", f"seed={m.seed}",
             f"trials={m.trials}"]
    parts += [f"{name}={value!r}" for name, value in m.changed().items()
              if name not in ("seed", "trials", "case")]
    if r.backend is not None:
        parts.append(f"backend={r.backend!r}")
    parts.append(f"case={r.case.ref!r}")
    return f"check_equivariance({', '.join(parts)})"


#: the measurement options a form check takes (the others do not apply to it)
FORM_OPTIONS = ("trials", "seed", "rtol", "dtype", "timeout")


def check_form(
    fn: Callable[..., Any],
    inputs: str | Sequence[str] | None = None,
    output: str | Sequence[str] | None = None,
    groups: str | Sequence[str] | None = None,
    sizes: Mapping[str, int] | None = None,
    *,
    span_rtol: float | None = None,
    data: Sequence[Array | None] | None = None,
    weights: str = "cotransform",
    fit: bool = True,
    name: str | None = None,
    backend: str | None = None,
    **options: Any,
) -> FormResult:
    """Measure and judge the attention form of ``fn`` (Ma & Ying 2022).

    Arguments default to what ``fn`` declares with :func:`symcheck.equivariant`; ``rtol``
    (default 1e-8 in float64) bounds the span residual and the coefficient diagnostics,
    ``span_rtol`` the span residual alone. Parameters with array defaults are the model's
    weights: ``weights="cotransform"`` turns them with ``Q``, ``"fixed"`` holds them still;
    ``fit=False`` skips the log-bilinear fit. ``options``: the measurement options of
    :data:`FORM_OPTIONS`.
    """
    other = sorted(set(options) - set(FORM_OPTIONS))
    if other:
        raise SpecError(f"{other[0]!r} does not apply to a form check", argument=other[0],
                        expected=f"one of {', '.join(FORM_OPTIONS)}")
    request = FormRequest(
        obj=fn, name=name, declared=_declared(inputs, output, groups, sizes),
        measure=Measure.from_keywords(options), backend=backend,
        arrays=data, weights=weights, span_rtol=span_rtol, fit=fit,
    )
    result: FormResult = run(request).result
    return result


def _declare_options(fn: Callable[..., Any], names: Sequence[str] | None = None) -> None:
    """List the declared measurement options ``names`` (all when None) in ``fn``'s signature,
    as keyword-only parameters with their defaults, for ``help()`` and editors: the
    ``**options`` they replace take exactly these."""
    import inspect

    from symcheck.core.options import parameters

    signature = inspect.signature(fn)
    own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    fn.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own, *parameters(names)])


_declare_options(check_equivariance)
_declare_options(check_form, FORM_OPTIONS)
