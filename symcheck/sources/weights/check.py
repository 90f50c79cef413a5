"""Checking saved weights: the knowledge co-transform and the per-part breakdown.

Ma & Ying's point, made measurable: a transformer's weights are *knowledge* living in the
embedding space. With rows as tokens, turning the embedding by ``Q`` maps ``X ↦ X Qᵀ``; every
weight axis that lives in the embedding (label ``d``, see :mod:`symcheck.sources.weights.layouts`)
turns with it. The reference forward is a numpy function of ``(X, *weights)`` with specs such as
``("n d", "k d", "k", …)``; the weights are passed to the engine as *fixed* inputs, so the
engine's own group action turns them — there is no second equivariance loop here.

- ``cotransform``: weights are fixed inputs with their ``d`` axes labelled: O(d) turns them.
- ``fixed``: the weights are closed over; O(d) turns the tokens only.

The attention core is exactly O(d)-equivariant with co-transformed weights (the scores
``x W_qᵀ W_k xᵀ`` are unchanged when both weights turn with ``x``); a BERT block is not, because
LayerNorm centres each token on the all-ones direction and scales coordinates one by one. Which
part breaks which symmetry is *measured*: each part of a failing component is checked alone, on
the failing check's own cases (the same group elements; as input, what the component feeds the
part on each case), so "part P fails alone" speaks of the cases on which the component failed.
A part whose inputs carry no label of a group cannot be checked alone for it — with fixed
weights, O(d) would turn only the output projection's output, a failure by construction — so
that cell is "n/a" and the part is never named as a cause.

>>> from pathlib import Path
>>> r = check_weights(Path("samples/weights/bert/model.safetensors"),
...                   groups=["O(d)"], component="attention")              # doctest: +SKIP
>>> r.passed                                                               # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from symcheck.core.errors import InputFileError, Metavar, Phrase, SpecError, Use
from symcheck.core.groups import GroupName
from symcheck.core.options import Measure
from symcheck.core.signature import DEFAULT_TRIALS, Signature, parse_groups, parse_specs
from symcheck.core.signature import WEIGHT_MODE_NAMES as MODE_NAMES
from symcheck.core.signature import WEIGHT_MODES as MODES
from symcheck.core.verdicts import SKIP, Computed, Judged, Serialised, Verdict, key
from symcheck.engine.cases import Drawn
from symcheck.engine.equivariance import (
    EquivarianceResult,
    GroupResult,
    check_problem,
)
from symcheck.engine.problem import resolve
from symcheck.sources.weights import reference as ref
from symcheck.sources.weights.fold import FoldResult
from symcheck.sources.weights.layouts import ATTENTION, SPECS, Layer

Array = np.ndarray
COMPONENTS = ("attention", "block")
DEFAULT_GROUPS = (GroupName("S", "n"), GroupName("O", "d"))
DEFAULT_N = 8
BREAKDOWNS = ("full", "needed")
#: the breakdown shown for every component and part: (column, weights mode, group)
BREAKDOWN = (("S(n)", "cotransform", DEFAULT_GROUPS[0]),
             ("O(d) co-transformed", "cotransform", DEFAULT_GROUPS[1]),
             ("O(d) fixed", "fixed", DEFAULT_GROUPS[1]))


@dataclass(frozen=True)
class Unit:
    """A checkable piece of a layer: a whole component or one part of it."""

    key: str  # "attention", "block", or a part: "self", "out", "ln1", "ffn", "ln2"
    params: tuple[str, ...]
    in_spec: str
    out_spec: str
    #: ``(x, params, layer, **options) -> y``; a component's forward takes ``seen`` (see
    #: :func:`~symcheck.sources.weights.reference.block`)
    forward: Callable[..., Array]


def _norm_unit(name: str) -> Unit:
    return Unit(name, (f"{name}.weight", f"{name}.bias"), "n d", "n d",
                lambda x, p, lay: ref.norm(x, p, name, lay.norm, lay.eps))


UNITS: dict[str, Unit] = {
    "attention": Unit("attention", ATTENTION, "n d", "n d",
                      lambda x, p, lay, **kw: ref.attention(x, p, lay.heads, **kw,
                                                            **lay.attention_options)),
    "block": Unit("block", tuple(SPECS), "n d", "n d",
                  lambda x, p, lay, **kw: ref.block(x, p, lay.heads, lay.eps, lay.activation,
                                                    lay.norm_first, norm_kind=lay.norm,
                                                    norms=lay.norms, **kw,
                                                    **lay.attention_options)),
    "self": Unit("self", ATTENTION[:6], "n d", "n v",
                 lambda x, p, lay: ref.self_attention(x, p, lay.heads,
                                                      **lay.attention_options)),
    "out": Unit("out", ("o.weight", "o.bias"), "n v", "n d",
                lambda x, p, lay: ref.linear(x, p["o.weight"], p.get("o.bias"))),
    "ln1": _norm_unit("ln1"),
    "ffn": Unit("ffn", ("gate.weight", "gate.bias", "ff1.weight", "ff1.bias", "ff2.weight",
                        "ff2.bias"), "n d", "n d",
                lambda x, p, lay: ref.feed_forward(x, p, lay.activation)),
    "ln2": _norm_unit("ln2"),
}
PARTS = {"attention": ("self", "out"), "block": ("self", "out", "ln1", "ffn", "ln2")}
#: the parameters a unit cannot go without (the rest are optional: biases, gains, a gate)
REQUIRED = {"self": ("q.weight", "k.weight", "v.weight"), "out": ("o.weight",),
            "ffn": ("ff1.weight", "ff2.weight")}


def unit_name(layer: Layer, key: str) -> str:
    return key if key in COMPONENTS else layer.parts[key]


def parts_of(layer: Layer, component: str) -> list[str]:
    """The parts of ``component`` the layer has (a norm counts even when folded bare)."""
    return [p for p in PARTS[component]
            if (p in layer.norms if p in ("ln1", "ln2")
                else all(q in layer.params for q in REQUIRED[p]))]


@dataclass
class Settings:
    """What every run of one weights check shares."""

    n: int = DEFAULT_N
    dtype: str = "float64"
    seed: int = 0
    trials: int | None = None
    rtol: float | None = None
    #: co-transform through a turned frame, all cases in one call (see :func:`run_unit`)
    frame: bool = True


def run_unit(layer: Layer, key: str, mode: str, groups: Sequence[GroupName], settings: Settings,
             case: str | None = None, source: str = "weights",
             given: Mapping[str, Sequence[Drawn]] | None = None) -> EquivarianceResult:
    """One engine check of one unit, weights co-transformed or held fixed.

    Every case runs through the reference forward in one call (a batch axis ``b`` leads every
    spec). Co-transformed, the engine turns the tokens, an identity *frame* ``"b e d"`` and
    the embedding-space vectors (biases and gains, ``"b d"``); every matrix is applied through
    the turned frame (:class:`~symcheck.sources.weights.reference.Framed`), which is the
    co-transformed weight without its cost. ``settings.frame=False`` has the engine turn every
    weight itself instead (one model call per case): the same numbers to round-off, slower.
    ``given``: the group sets to measure and the cases (tokens ``(cases, [1,] n, width)``)
    to measure them on, instead of drawing (see :func:`check_layer`).
    """
    if mode == "cotransform" and not settings.frame:
        return _run_unit_explicit(layer, key, groups, settings, case, source, given)
    unit = UNITS[key]
    names = [p for p in unit.params if p in layer.params]
    data: tuple[Array | None, ...] | None = None
    specs: tuple[str, ...] = (f"b {unit.in_spec}",)
    labels = {p: layer.specs[p].split() for p in names}
    framed = [p for p in names if len(labels[p]) == 2 and "d" in labels[p]]
    vectors = [p for p in names if labels[p] == ["d"]]
    if mode == "cotransform":
        if framed:
            specs += ("b e d",)
        specs += tuple("b d" for _ in vectors)
        data = (None, *([np.eye(layer.d)[None]] if framed else []),
                *(layer.params[p][None] for p in vectors))

    def forward_in(dtype: str) -> Callable[..., Array]:
        # Closed over (cast here, as the backend casts only the inputs): every weight with
        # fixed weights; with co-transformed ones the matrices (applied through the frame)
        # and the head-space biases ("k", "f"), which no group turns.
        np_dtype = np.dtype(dtype)
        if mode != "cotransform":
            fixed = {p: layer.params[p].astype(np_dtype) for p in names}
            return lambda x: unit.forward(x, fixed, layer)
        held = {p: layer.params[p].astype(np_dtype) for p in names if p not in vectors}

        def fn(x: Array, *turned: Array) -> Array:
            p: dict[str, Any] = dict(held)
            rest = list(turned)
            if framed:
                frame = rest.pop(0)
                p |= {q: ref.Framed(held[q], frame, labels[q][1] == "d") for q in framed}
            # (b, d) -> (b, 1, d): one vector per case, broadcast over the tokens
            p |= {q: v[:, None, :] for q, v in zip(vectors, rest, strict=True)}
            return unit.forward(x, p, layer)

        return fn

    out_spec = f"b {unit.out_spec}"
    used = {lab for s in (*specs, out_spec) for lab in s.split()}
    sizes = {k: v for k, v in {**layer.sizes, "n": settings.n, "b": 1, "e": layer.d}.items()
             if k in used}
    signature = Signature(inputs=parse_specs(specs, "inputs"),
                          outputs=parse_specs((out_spec,), "outputs"), groups=tuple(groups),
                          sizes=sizes, trials=settings.trials, rtol=settings.rtol)
    # The frame and the vectors are fixed inputs that lead with the batch axis like the
    # tokens: the engine stacks the cases along it (each case's copy turned by its element).
    return _check(signature, forward_in, data, settings, case, unit_name(layer, key),
                  f"{source} ({MODE_NAMES[mode]})", given)


def _check(signature: Signature, forward_in: Callable[[str], Callable[..., Array]],
           data: tuple[Array | None, ...] | None, settings: Settings, case: str | None,
           name: str, source: str, given: Mapping[str, Sequence[Drawn]] | None = None
           ) -> EquivarianceResult:
    """Resolve and run one check (a float64 twin calibrates a lower-precision check)."""
    from symcheck.backends import adapt

    _, wrapped = adapt(forward_in(settings.dtype), settings.dtype, backend="numpy")
    reference = (None if settings.dtype == "float64"
                 else adapt(forward_in("float64"), "float64", backend="numpy")[1])
    problem = resolve(wrapped, signature, settings.dtype, data, name, reference=reference)
    trials = settings.trials if settings.trials is not None else DEFAULT_TRIALS
    return check_problem(problem, Measure(seed=settings.seed, trials=trials, rtol=settings.rtol,
                                          case=case), data_source=source, given=given)


def _run_unit_explicit(layer: Layer, key: str, groups: Sequence[GroupName], settings: Settings,
                       case: str | None, source: str,
                       given: Mapping[str, Sequence[Drawn]] | None) -> EquivarianceResult:
    """The co-transformed check with every weight a fixed input the engine turns itself."""
    unit = UNITS[key]
    names = [p for p in unit.params if p in layer.params]
    specs: tuple[str, ...] = (unit.in_spec, *(layer.specs[p] for p in names))
    data = (None, *(layer.params[p] for p in names))

    def forward_in(dtype: str) -> Callable[..., Array]:
        def fn(x: Array, *weights: Array) -> Array:
            return unit.forward(x, dict(zip(names, weights, strict=True)), layer)

        return fn

    used = {lab for s in (*specs, unit.out_spec) for lab in s.split()}
    sizes = {k: v for k, v in {**layer.sizes, "n": settings.n}.items() if k in used}
    signature = Signature(inputs=parse_specs(specs, "inputs"),
                          outputs=parse_specs((unit.out_spec,), "outputs"), groups=tuple(groups),
                          sizes=sizes, trials=settings.trials, rtol=settings.rtol)
    return _check(signature, forward_in, data, settings, case, unit_name(layer, key),
                  f"{source} ({MODE_NAMES['cotransform']})", given)


def _check_entry(g: GroupResult | None) -> dict[str, Any]:
    """One group check of a unit in the JSON: its verdict, largest error and tolerance."""
    if g is None:
        return {"verdict": "n/a", "max": None, "tolerance": None}
    return {"verdict": g.verdict, "max": g.measurement.stat(100), "tolerance": g.tolerance}


@dataclass
class Cause(Serialised):
    """Which parts of a failing component fail the same group alone, measured on the failing
    check's own cases (see :func:`check_layer`)."""

    group: str
    component: str
    mode: str = field(metadata=key("weights"))
    culprits: list[tuple[str, GroupResult]] = field(metadata=key(
        "caused_by", convert=lambda culprits: [
            {"part": name, "verdict": g.verdict, "max": g.measurement.stat(100)}
            for name, g in culprits]))
    passing: list[str] = field(metadata=key("passing_alone"))
    #: for fixed weights: the same group's result with the weights co-transformed
    cotransformed: GroupResult | None = field(default=None, metadata=key(
        "cotransformed_verdict", convert=lambda g: None if g is None else g.verdict))
    #: parts whose inputs carry none of the group's labels: not checkable alone, never causes
    untestable: list[str] = field(default_factory=list,
                                  metadata=key("not_checkable_alone"))
    #: how many of the requested check's cases each part was measured on (their elements,
    #: and the part's own input in the component on each)
    cases: int = 0

    json_order = ("group", "component", "mode", "culprits", "passing", "untestable",
                  "cotransformed", "cases")


@dataclass
class BreakdownRow(Serialised):
    unit: str
    kind: str  # "component" | "part"
    #: None: the group cannot be checked on this unit alone in that mode (see :func:`testable`)
    checks: dict[str, GroupResult | None] = field(metadata=key(convert=lambda checks: {
        label: _check_entry(g) for label, g in checks.items()}))
    #: the unit's input specs in each mode, to say why a check is n/a
    inputs: dict[str, tuple[str, ...]] = field(default_factory=dict, metadata=SKIP)


@dataclass
class WeightsResult(Judged):
    """The requested check, the full breakdown, and the measured causes of each failure."""

    path: str = field(metadata=key("file"))
    #: the checked layer (its layout, name and heads are computed keys)
    layer: Layer = field(metadata=SKIP)
    layers_found: list[str]
    heads_source: str = field(metadata=key("heads_from"))
    component: str
    mode: str = field(metadata=key("weights"))
    groups: tuple[GroupName, ...]
    requested: EquivarianceResult = field(metadata=key("check"))
    breakdown: list[BreakdownRow]
    causes: list[Cause]
    notes: list[str] = field(default_factory=list)
    #: what folding did (``check_weights(fold=True)``), else None (then no ``fold`` key)
    fold: FoldResult | None = field(default=None, metadata=key(omit_none=True))

    json_order = (
        "path", Computed("layout", "layer.layout"), Computed("layer", "layer.name"),
        "layers_found", Computed("heads", "layer.heads"), "heads_source",
        Computed("sizes", lambda r: {**r.layer.sizes, "n": r.requested.sizes.get("n")}),
        "component", "mode", "groups", Computed("verdict"), "requested", "breakdown", "causes",
        "notes", "fold",
    )

    @property
    def name(self) -> str:
        """The checked layer."""
        return self.layer.name

    @property
    def verdict(self) -> Verdict:
        return self.requested.verdict


class _Runs:
    """Runs units, reusing a result when the same (unit, mode, groups) is asked twice."""

    def __init__(self, layer: Layer, settings: Settings) -> None:
        self.layer, self.settings = layer, settings
        self.cache: dict[tuple[str, str, tuple[GroupName, ...]], EquivarianceResult] = {}

    def __call__(self, key: str, mode: str, groups: Sequence[GroupName]) -> EquivarianceResult:
        index = (key, mode, tuple(groups))
        if index not in self.cache:
            self.cache[index] = run_unit(self.layer, key, mode, groups, self.settings)
        return self.cache[index]


def input_specs(key: str, mode: str) -> tuple[str, ...]:
    """The specs the engine sees as the unit's inputs: the weights too when they turn."""
    unit = UNITS[key]
    if mode == "cotransform":
        return (unit.in_spec, *(SPECS[q] for q in unit.params))
    return (unit.in_spec,)


def testable(groups: Sequence[GroupName], key: str, mode: str) -> list[GroupName]:
    """The groups checkable on the unit alone: each one's label is on one of its inputs
    (:func:`on_inputs`)."""
    return [g for g in groups if on_inputs((g.label,), key, mode)]


def on_inputs(labels: Sequence[str], key: str, mode: str) -> bool:
    """Whether a group set acting on ``labels`` (one group, or a product such as
    ``S(n) × O(d)``) is checkable on the unit alone: each label is on one of its inputs.

    A group acting on the output only compares ``f(x)`` with ``g·f(x)`` — a failure by
    construction, not a measurement (the output projection, input ``"n v"``, with fixed
    weights under O(d)). A label on the inputs only is a fair invariance check.
    """
    carried = {lab for spec in input_specs(key, mode) for lab in spec.split()}
    return all(label in carried for label in labels)


def _acts_on(labels: Sequence[str], key: str) -> bool:
    """Whether a group set acting on ``labels`` acts on any axis of the unit (inputs,
    weights, output)."""
    unit = UNITS[key]
    carried = {lab for spec in (unit.in_spec, unit.out_spec, *(SPECS[q] for q in unit.params))
               for lab in spec.split()}
    return any(label in carried for label in labels)


def part_inputs(layer: Layer, component: str, x: Array) -> dict[str, Array]:
    """The input of each part of ``component`` as it runs on the tokens ``x`` (any leading
    axes), in float64 with the layer's weights as stored: ``{"self": …, "out": …, …}``."""
    seen: dict[str, Array] = {}
    UNITS[component].forward(np.asarray(x, dtype=np.float64), layer.params, layer, seen=seen)
    return seen


def _tokens(drawn: Drawn, x: Array, batched: bool, probed: bool) -> Drawn:
    """``drawn`` with the tokens ``x`` (cases first), shaped for a unit whose token spec leads
    with the batch axis (``batched``) or not."""
    shape = (x.shape[0], *((1,) if batched else ()), *x.shape[-2:])
    return replace(drawn, inputs=[x.reshape(shape)], probed=probed)


def _causes(layer: Layer, component: str, mode: str, groups: tuple[GroupName, ...],
            settings: Settings, failing: Sequence[GroupResult]) -> list[Cause]:
    """Each failing group's cause: the parts that fail it alone on the failing check's cases.

    A part is measured on the same cases as the component (the same group elements, the same
    Haar draws and probes), its input on each case being what the component feeds it there
    (:func:`part_inputs`): the normed tokens for the attention of a pre-norm block, the
    attention's output for the feed-forward. It is calibrated and judged as any check is, so a
    part named a cause fails its own check on those cases with its own tolerance.
    """
    batched = not (mode == "cotransform" and not settings.frame)
    drawn = {g.measurement.name: g.measurement.drawn for g in failing}
    labels = {g.measurement.name: g.measurement.labels for g in failing}
    # the tokens are the component's one drawn input
    seen = {name: [part_inputs(layer, component, d.inputs[0]) for d in batches]
            for name, batches in drawn.items()}

    def on(part: str) -> EquivarianceResult | None:
        given = {name: [_tokens(d, s[part], batched, False)
                        for d, s in zip(batches, seen[name], strict=True)]
                 for name, batches in drawn.items() if on_inputs(labels[name], part, mode)}
        if not given:
            return None
        return run_unit(layer, part, mode, testable(groups, part, mode), settings, given=given)

    parts = {part: on(part) for part in parts_of(layer, component)}
    other = None
    if mode == "fixed":  # the same cases with the weights co-transformed
        other = run_unit(layer, component, "cotransform", groups, settings, given={
            name: [_tokens(d, d.inputs[0], settings.frame, True) for d in batches]
            for name, batches in drawn.items()})
    causes = []
    for failed in failing:
        name = failed.measurement.name
        culprits: list[tuple[str, GroupResult]] = []
        passing: list[str] = []
        untestable: list[str] = []
        for part, result in parts.items():
            if not on_inputs(labels[name], part, mode):
                # e.g. O(d) on the output projection, weights fixed
                if _acts_on(labels[name], part):
                    untestable.append(unit_name(layer, part))
                continue  # else the group leaves the part alone (``k`` on a LayerNorm)
            found = [g for g in result.groups if g.measurement.name == name] if result else []
            if not found:
                continue
            if found[0].passed:
                passing.append(unit_name(layer, part))
            else:
                culprits.append((unit_name(layer, part), found[0]))
        cotransformed = None if other is None else next(
            g for g in other.groups if g.measurement.name == name)
        causes.append(Cause(name, component, mode, culprits, passing, cotransformed, untestable,
                            len(failed.measurement.cases)))
    return causes


def check_layer(layer: Layer, *, groups: Sequence[str | GroupName] = DEFAULT_GROUPS,
                mode: str = "cotransform", component: str | None = None,
                settings: Settings | None = None, case: str | None = None,
                path: str = "", layers_found: Sequence[str] = (),
                heads_source: str = "", breakdown: str = "full") -> WeightsResult:
    """The requested check of one layer, its breakdown, and the causes of its failures.

    The causes are measured on the requested check's own cases, nothing drawn anew
    (:func:`_causes`). ``breakdown="full"`` adds the table: every component and part in every
    mode of :data:`BREAKDOWN`, each an independent check with its own draws and probes;
    ``"needed"`` leaves it out (when the check passes, nothing runs but the check).
    """
    settings = settings or Settings()
    if breakdown not in BREAKDOWNS:
        raise SpecError(f"{breakdown!r} is not one of {', '.join(BREAKDOWNS)}",
                        argument="breakdown", value=breakdown)
    if mode not in MODES:
        raise SpecError(f"{mode!r} is not one of {', '.join(MODES)}", argument="weights",
                        value=mode)
    component = component or layer.components[-1]
    if component not in COMPONENTS:
        raise SpecError(f"{component!r} is not one of {', '.join(COMPONENTS)}",
                        argument="component", value=component)
    if component not in layer.components:
        raise SpecError(
            f"{component!r}: layer {layer.name!r} (layout {layer.layout}) has no "
            f"LayerNorm or feed-forward weights; it has: {', '.join(layer.components)}",
            argument="component", value=component
        )
    names = parse_groups(groups)  # a Python caller's door: text ("O(d)") or values
    runs = _Runs(layer, settings)
    requested = (run_unit(layer, component, mode, names, settings, case) if case
                 else runs(component, mode, names))
    keys = [*layer.components, *parts_of(layer, layer.components[-1])]
    rows = [
        BreakdownRow(unit_name(layer, key), "component" if key in COMPONENTS else "part",
                     {label: runs(key, m, (g,)).groups[0] if on_inputs((g.label,), key, m) else None
                      for label, m, g in BREAKDOWN},
                     {m: input_specs(key, m) for m in MODES})
        for key in keys
    ] if breakdown == "full" else []
    failing = [g for g in requested.groups if not g.passed]
    causes = _causes(layer, component, mode, names, settings, failing) if failing else []
    notes = list(layer.notes)
    if len(layers_found) > 1:
        notes.insert(0, Phrase(f"the file holds {len(layers_found)} layers "
                               f"({', '.join(layers_found)}); checked {layer.name} (choose with ",
                               Use("layer"), ")"))
    return WeightsResult(path, layer, list(layers_found), heads_source, component, mode, names,
                         requested, rows, causes, notes)


def check_weights(path: Path, *, layer: str | None = None, heads: int | None = None,
                  groups: Sequence[str | GroupName] | None = None, mode: str = "cotransform",
                  component: str | None = None, settings: Settings | None = None,
                  case: str | None = None, breakdown: str = "full",
                  fold: bool = False) -> WeightsResult:
    """Load ``path``, find the layer, build the reference forward and check it.

    ``groups`` default to ``S(n)`` and ``O(d)``; ``component`` to the whole layer in the file
    (``block`` when it has LayerNorm, else ``attention``). ``breakdown``: see
    :func:`check_layer`. ``fold``: fold the norm gains first
    (:func:`~symcheck.sources.weights.fold.fold_norms`); what was folded and what could not
    be is in the result's notes and in ``result.fold``.
    """
    from symcheck.sources.weights.files import load_weights, read_config
    from symcheck.sources.weights.layouts import find_layer, layer_from_config

    tensors = load_weights(path)
    config = read_config(path)
    layout, prefix, found = find_layer(tensors, layer)
    if heads is not None:
        if heads < 1:
            raise SpecError(f"{heads} must be at least 1", argument="heads", value=heads)
        source: str = Phrase(Use("heads"))
    elif config.heads is not None:
        heads, source = config.heads, str(config.path)
    else:
        raise SpecError(
            f"{str(path)!r} does not say how many attention heads it has", argument="heads",
            hint=Phrase("pass ", Use("heads", Metavar("H")),
                        " or put a config.json with num_attention_heads beside it")
        )
    built = layer_from_config(layout, tensors, prefix, config, heads)
    if built.activation not in ref.ACTIVATIONS:  # an input error, before any run
        where = "" if config.path is None else f"{str(config.path)!r}: "
        raise InputFileError(f"config: {where}hidden_act {built.activation!r} is not one of "
                             f"{', '.join(ref.ACTIVATIONS)}")
    if config.hidden_size is not None and config.hidden_size != built.d:
        raise InputFileError(
            f"config: {str(config.path)!r} says hidden_size={config.hidden_size} but the weights "
            f"have d={built.d} ({built.keys['q.weight']!r} has shape "
            f"{built.params['q.weight'].shape})"
        )
    folding = None
    if fold:
        from symcheck.sources.weights.fold import fold_norms

        folding = fold_norms(built)
        built = folding.layer
    result = check_layer(built, groups=tuple(groups or DEFAULT_GROUPS), mode=mode,
                         component=component, settings=settings, case=case, path=str(path),
                         layers_found=found, heads_source=source, breakdown=breakdown)
    result.fold = folding
    return result
