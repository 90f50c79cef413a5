"""A resolved check: specs parsed, sizes bound, groups built, the model wrapped and called.

:func:`resolve` cross-checks a signature (specs, groups, sizes) with any fixed inputs and
returns a :class:`Problem`; :func:`call_model` runs the model and checks what it returns
against the output specs.

>>> import numpy as np
>>> from symcheck.core.signature import Signature
>>> p = resolve(np.tanh, Signature.parse(("n d",), ("n d",), ("S(n)",), {"n": 4, "d": 2}))
>>> p.sizes, [g.name for g in p.groups]
({'n': 4, 'd': 2}, ['S(n)'])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from symcheck.core.errors import (
    ModelError,
    Phrase,
    SpecError,
    StopRequest,
    Suggest,
    SymcheckError,
    Use,
)
from symcheck.core.files import model_stdout_to_stderr
from symcheck.core.groups import Euclidean, Group, GroupName, Orthogonal, product_factors
from symcheck.core.signature import DEFAULT_TRIALS, Signature
from symcheck.core.specs import AxisSpec
from symcheck.core.verdicts import SKIP, Serialised, key

Array = np.ndarray


BATCH_LABELS = ("b", "batch")


_NUMPY_FLOATS = ("float16", "float32", "float64")


class Observed:
    """What the model's calls showed while a check ran: the numpy float dtypes its outputs
    arrived in (to catch a silent upcast). A log, not a setting: a problem and its resized
    copies (the same model) share one; a different function (a float64 twin) gets its own."""

    def __init__(self) -> None:
        self.output_dtypes: set[str] = set()


@dataclass(frozen=True)
class OwnPrecision:
    """The model's own precision, below the check's, as its framework sees it before any
    cast: ``dtype`` (``"float32"``), the ``cause`` as the report words it (``"its parameters
    are float32"``), and ``perturbed(rng)``: the model (wrapped like the checked one) with
    those parameters moved by a random relative amount at their resolution, or None where
    nothing can be perturbed."""

    dtype: str
    cause: str
    perturbed: Callable[[np.random.Generator], Callable[..., Any]] | None = None


@dataclass(frozen=True)
class Problem:
    """A resolved check: specs parsed, sizes bound, groups built, model wrapped. Frozen: a
    variant (a size probe, the float64 twin) is a new problem made with ``replace``."""

    fn: Callable[..., Any]
    name: str
    inputs: tuple[AxisSpec, ...]
    outputs: tuple[AxisSpec, ...]
    groups: tuple[Group, ...]
    sizes: dict[str, int]
    dtype: str
    #: fixed inputs (e.g. real data or saved weights); ``None`` entries are drawn at random
    data: tuple[Array | None, ...] | None = None
    #: the label of a batch axis (leading in every spec, acted on by no group), if any
    batch_label: str | None = None
    #: what the model's calls showed (the dtypes its outputs came in)
    observed: Observed = field(default_factory=Observed)
    #: whether input probes may change fixed inputs (data the user supplied: yes; weights: no)
    probe_data: bool = False
    #: the same model run in float64, when the check runs in a lower precision (calibration)
    reference: Callable[..., Any] | None = None
    #: the input that marks valid positions (``mask``); padding is not compared
    mask: int | None = None
    #: which input that is, its polarity, and how many positions are compared
    mask_use: MaskUse | None = None
    #: pass every input by position, ``NAME=`` ones too (a ``(*args, **kwargs)`` model: the
    #: names only match the arrays of a data file)
    positional: bool = False
    #: the model's own precision where its framework sees one below the check's (float32
    #: parameters in a float64 check), to calibrate the tolerance to it
    precision: OwnPrecision | None = None

    def pinned(self) -> set[str]:
        """Labels whose size a fixed input (data or weights) sets."""
        fixed = [s for s, a in zip(self.inputs, self.data or (), strict=False) if a is not None]
        return {lab for spec in fixed for lab in spec.labels} | {
            spec.representation(i).argument or "" for spec in fixed for i in range(spec.rank)
            if spec.rep(i).startswith("index(")}  # fixed indices point into that size

    def resized(self, label: str, size: int) -> Problem:
        """The same problem with ``label`` of size ``size`` (a size probe); groups rebuilt."""
        sizes = {**self.sizes, label: size}
        groups = tuple(type(g)(g.label, sizes[g.label]) for g in self.groups)
        return replace(self, sizes=sizes, groups=groups)

    def group_sets(self) -> list[tuple[Group, ...]]:
        """Each group alone, then their product (when it is more than one of them)."""
        sets: list[tuple[Group, ...]] = [(g,) for g in self.groups]
        product = product_factors(self.groups)
        if len(product) > 1:
            sets.append(product)
        return sets


def resolve(
    fn: Callable[..., Any],
    signature: Signature,
    dtype: str = "float64",
    data: Sequence[Array | None] | None = None,
    name: str | None = None,
    *,
    probe_data: bool = False,
    reference: Callable[..., Any] | None = None,
    positional: bool = False,
    precision: OwnPrecision | None = None,
) -> Problem:
    """Cross-check specs, groups, sizes and supplied inputs. ``probe_data``: input
    probes may change the fixed inputs (data a user gave; never weights); ``reference``: the
    same model in float64, to calibrate a check in a lower precision; ``precision``: the
    model's own precision below the check's (see :class:`OwnPrecision`)."""
    if not signature.inputs:
        raise SpecError("no input spec", argument="inputs",
                        hint=Suggest("inputs", ["n d"]))
    if not signature.outputs:
        raise SpecError("no output spec (one per output of a tuple)", argument="outputs",
                        hint=Suggest("outputs", ["n d"]))
    if not signature.groups:
        raise SpecError("no group to check", argument="groups",
                        hint=Suggest("groups", ["O(d)", "S(n)"]))
    inputs, outputs = signature.inputs, signature.outputs
    sizes = dict(signature.sizes)
    arrays: tuple[Array | None, ...] | None = None
    if data is not None:
        if len(data) != len(inputs):
            raise SpecError(
                f"{len(data)} arrays supplied but {len(inputs)} input specs declared",
                argument="data", value=len(data),
            )
        arrays = tuple(None if a is None else as_input(a) for a in data)
        bound: dict[str, int] = {}
        for spec, a in zip(inputs, arrays, strict=True):
            if a is not None:
                spec.bind(a.shape, bound, "data")
        for label in signature.explicit:
            if label in bound and bound[label] != sizes[label]:
                raise SpecError(
                    f"{label}={sizes[label]}, but a fixed input (data or weights) has "
                    f"{label}={bound[label]}", argument="sizes", value={label: sizes[label]},
                )
        sizes.update(bound)
    check_run_together(inputs, outputs, signature.groups, sizes)
    check_labels(inputs + outputs, signature.groups, sizes)
    check_channel_sizes(inputs + outputs, sizes)
    for argument, specs in (("inputs", inputs), ("outputs", outputs)):
        names = [s.name for s in specs if s.name is not None]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SpecError(f"{twice[0]!r} names two {argument} (NAME=SPEC names one each)",
                            argument=argument, value=twice[0])
    for i, spec in enumerate(inputs):
        spec.shape(sizes, f"input {i}")
    check_case_memory(inputs + outputs, sizes)
    groups = tuple(name.build(sizes) for name in signature.groups)
    check_group_memory(groups, signature.trials or DEFAULT_TRIALS)
    check_representations(inputs, outputs, groups)
    if arrays is not None:
        fit_groups(groups, inputs, arrays)
    check_given_indices(inputs, arrays)
    check_sets_are_outputs(inputs)
    mask = resolve_mask(signature, inputs, arrays)
    if mask is not None and any(s.representation(i).unordered
                                for s in outputs for i in range(s.rank)):
        raise SpecError("an output compared as a set (':set') cannot also be masked: its rows "
                        "are reordered before the comparison", argument="outputs",
                        value=[str(s) for s in outputs])
    return Problem(
        fn=fn, name=str(name or getattr(fn, "__name__", type(fn).__name__)), inputs=inputs,
        outputs=outputs, groups=groups, sizes=sizes, dtype=dtype, data=arrays,
        batch_label=_batch_label(inputs + outputs, groups),
        mask=None if mask is None else mask.index, mask_use=mask, probe_data=probe_data,
        reference=reference, positional=positional, precision=precision,
    )


def check_channel_sizes(specs: Sequence[AxisSpec], sizes: Mapping[str, int]) -> None:
    """A size given for a channel whose representation fixes its length
    (``c:complement(3,2,1,0)`` has 4) must be that length: the header would otherwise show a
    size the check never used."""
    for spec in specs:
        for axis, label in enumerate(spec.labels):
            if not spec.rep(axis).startswith("complement(") or label not in sizes:
                continue
            own = spec.representation(axis).fixed_dim()
            if own is not None and sizes[label] != own:
                raise SpecError(f"{label}={sizes[label]}, but {label}:{spec.rep(axis)} has "
                                f"{own} channels (its size is the list's length; leave "
                                f"{label} out of the sizes)", argument="sizes",
                                value={label: sizes[label]})


def check_case_memory(specs: Sequence[AxisSpec], sizes: Mapping[str, int]) -> None:
    """Refuse a check one case of which cannot fit in memory, before anything is drawn: its
    inputs and outputs on both sides of the comparison, in float64, and the matrix of every
    representation that gives its axis its own size (a lower bound of what a case needs)."""
    from symcheck.core.memory import gib, memory_budget

    need = 0.0
    matrices = 0.0
    for spec in specs:
        if any(label not in sizes for label in spec.labels):
            continue  # an output label that no input fixes is refused elsewhere
        need += 2 * 8 * math.prod(float(n) for n in spec.shape(sizes))
        for axis in range(spec.rank):
            own = spec.representation(axis).fixed_dim()
            matrices += 8 * float(own) ** 2 if own is not None else 0.0
    budget = memory_budget()
    if need + matrices > budget:
        shown = ", ".join(f"{k}={v}" for k, v in sizes.items())
        if matrices > need:
            raise SpecError(f"one case of the check needs {gib(need + matrices)} (the matrices "
                            f"of its representations) but {gib(budget)} of memory is available "
                            "for it; declare smaller representations", argument="specs")
        raise SpecError(f"one case of the check needs {gib(need + matrices)} (its inputs and "
                        f"outputs, at {shown}) but {gib(budget)} of memory is available for "
                        "it; use smaller sizes", argument="sizes", value=dict(sizes))


#: cases a group set's batch holds beyond its Haar draws, at the least (structured and input
#: probes); the memory guard counts them
PROBE_CASES = 20


def check_group_memory(groups: Sequence[Group], trials: int) -> None:
    """Refuse a check whose group elements cannot fit in memory, before any is drawn: a
    group acting by matrices (O, SO, E, SE, T on a label of size c) holds a c × c matrix per
    case, for the Haar draws and the probes of one batch."""
    from symcheck.core.memory import gib, memory_budget

    cases = trials + PROBE_CASES
    for g in groups:
        if isinstance(g, Orthogonal | Euclidean):
            need = cases * 8 * float(g.size) ** 2
            if need > memory_budget():
                raise SpecError(f"the elements of {g.name} need {gib(need)} ({cases} cases of "
                                f"{g.size} × {g.size} matrices) but {gib(memory_budget())} of "
                                "memory is available for them; use a smaller "
                                f"{g.label}", argument="sizes", value={g.label: g.size})


def check_sets_are_outputs(inputs: Sequence[AxisSpec]) -> None:
    """``:set`` says the order of an output's rows carries no meaning (both sides are compared
    sorted); an input's order is the model's to read, and nothing would be checked."""
    for i, spec in enumerate(inputs):
        if any(spec.rep(a) == "set" for a in range(spec.rank)):
            raise SpecError(f"input {i} ({str(spec)!r}) has a ':set' axis; ':set' is for "
                            "outputs whose row order carries no meaning", argument="inputs",
                            value=str(spec))


def check_given_indices(inputs: Sequence[AxisSpec], arrays: Sequence[Array | None] | None
                        ) -> None:
    """An input whose values are positions (``index(n)``) must be given: a Gaussian draw holds
    no positions, and nothing says which positions the model accepts."""
    for i, spec in enumerate(inputs):
        if any(spec.rep(a).startswith("index(") for a in range(spec.rank)) and (
                arrays is None or arrays[i] is None):
            raise SpecError(Phrase(f"input {i} ({str(spec)!r}) holds positions, which the "
                                   "check cannot draw; give its values (integers) in ",
                                   Use("data")), argument="inputs", value=str(spec))


@dataclass
class CheckedRun:
    """What a check ran on and with, the head of every check's result: the model, its
    signature and sizes, the dtype, the seed, the trials and the tolerance."""

    model: str
    inputs: tuple[AxisSpec, ...]
    outputs: tuple[AxisSpec, ...]
    sizes: dict[str, int]
    dtype: str
    seed: int
    trials: int
    tolerance: float

    def spec_texts(self) -> dict[str, list[str]]:
        """The specs as the JSON writes them."""
        return {"inputs": [str(s) for s in self.inputs],
                "outputs": [str(s) for s in self.outputs]}


@dataclass(frozen=True)
class MaskUse(Serialised):
    """The input that hides padding, which way it reads, and how much of it is compared."""

    index: int = field(metadata=SKIP)
    name: str = field(metadata=key("input"))
    #: True: the input is True at padding (``padding_mask``); False: True where valid
    padding: bool = field(metadata=key("true_at", convert=lambda padding: "padding" if padding
                                       else "valid"))
    compared: int
    positions: int

    @property
    def argument(self) -> str:
        return "padding_mask" if self.padding else "mask"

    def valid(self, mask: Array) -> Array:
        """The positions compared, from the mask input's values."""
        m = np.asarray(mask).astype(bool)
        return ~m if self.padding else m


def resolve_mask(signature: Signature, inputs: Sequence[AxisSpec],
                 arrays: Sequence[Array | None] | None) -> MaskUse | None:
    """The mask input named by ``mask`` (True where valid) or ``padding_mask`` (True at
    padding); its values must be given (a drawn mask marks nothing) and leave a position to
    compare (an all-padding mask would pass by comparing nothing)."""
    if signature.mask is not None and signature.padding_mask is not None:
        raise SpecError(Phrase(f"both mask {signature.mask!r} and ", Use("padding_mask"),
                               f" {signature.padding_mask!r} are given; name one"),
                        argument="mask", value=signature.mask)
    padding = signature.padding_mask is not None
    name = signature.padding_mask if padding else signature.mask
    if name is None:
        return None
    argument = "padding_mask" if padding else "mask"
    named = [i for i, s in enumerate(inputs) if s.name == name]
    if not named:
        raise SpecError(f"{name!r} names no input", argument=argument, value=name,
                        expected="the NAME of an input declared as NAME=SPEC")
    given = None if arrays is None else arrays[named[0]]
    if given is None:
        raise SpecError(Phrase(f"input {name!r} is drawn at random, so it marks no padding; "
                               f"give its values (a boolean array {name!r}) in ", Use("data")),
                        argument=argument, value=name)
    use = MaskUse(named[0], name, padding, 0, int(np.size(given)))
    use = replace(use, compared=int(np.count_nonzero(use.valid(given))))
    if use.compared == 0:
        polarity = "True at padding" if padding else "True where valid"
        raise SpecError(f"input {name!r} ({polarity}) marks all {use.positions} positions as "
                        "padding, so nothing would be compared", argument=argument, value=name)
    return use


def as_input(a: Any) -> Array:
    """A fixed input as the check keeps it: floats as float64, integers (token ids) and booleans
    (masks) in their own dtype."""
    array = np.asarray(a)
    return array if array.dtype.kind in "iub" else np.asarray(array, dtype=np.float64)


def check_representations(inputs: Sequence[AxisSpec], outputs: Sequence[AxisSpec],
                          groups: Sequence[Group]) -> None:
    """Every axis's representation must mean something for the group acting on it, and a
    group that translates must find a point to move: ``E(c)`` on vectors alone would test
    ``O(c)`` and call it ``E(c)`` (a forgotten ``:point`` must not pass)."""
    specs = [*((s, "inputs") for s in inputs), *((s, "outputs") for s in outputs)]
    for spec, argument in specs:
        for axis, label in enumerate(spec.labels):
            for group in groups:
                if group.label != label:
                    continue
                try:
                    spec.representation(axis).check(group, argument)
                except SpecError as exc:
                    raise SpecError(f"{str(spec)!r}: {exc.message}", argument=argument,
                                    value=str(spec), expected=exc.expected,
                                    hint=exc.hint) from None
    check_across(specs, groups)
    for group in groups:
        if group.translates and not any(
            spec.representation(axis).translated
            for spec, _ in specs for axis in spec.axes_of(group.label)
        ):
            shown = ", ".join(repr(str(s)) for s, _ in specs)
            raise SpecError(
                f"{group.name} translates points, but no axis labelled {group.label!r} is a "
                f"point ({shown}), so its translations would act on nothing",
                argument="groups", value=group.name,
                expected=f"point axes written '{group.label}:point', or O({group.label}) "
                "for vectors alone",
            )


def check_across(specs: Sequence[tuple[AxisSpec, str]], groups: Sequence[Group]) -> None:
    """The representations that act with a group on another label: ``index(n)`` must point
    into a label some spec carries, once per array, and be moved by a permutation;
    ``complement(…)`` needs a reversal in the check, or it would never be exercised."""
    carried = {lab for spec, _ in specs for lab in spec.labels}
    for spec, argument in specs:
        targets = [spec.representation(i).argument for i in range(spec.rank)
                   if spec.rep(i).startswith("index(")]
        for target in targets:
            if target not in carried:
                raise SpecError(f"{str(spec)!r}: {target!r} in index({target}) appears in no "
                                "spec", argument=argument, value=str(spec),
                                expected="the label of the axis the values point into")
        if len(targets) != len(set(targets)):
            raise SpecError(f"{str(spec)!r} says index(…) of one label on two axes; the values "
                            "are relabelled once: mark one axis", argument=argument,
                            value=str(spec))
        for axis in range(spec.rank):
            rep = spec.representation(axis)
            for group in groups:
                if rep.crosses(group):
                    rep.check_across(group, argument)
            if spec.rep(axis).startswith("complement(") and not any(
                    rep.crosses(g) for g in groups):
                raise SpecError(
                    f"{str(spec)!r}: {spec.rep(axis)!r} is permuted by reversals, but "
                    f"the check names none ({', '.join(g.name for g in groups)})",
                    argument=argument, value=str(spec),
                    expected="a reversal group on the sequence label, e.g. R(n) or D(n)")


def fit_groups(groups: Sequence[Group], inputs: Sequence[AxisSpec],
               arrays: Sequence[Array | None]) -> None:
    """Let each group see the fixed points it moves (translations are drawn at their scale)."""
    for group in groups:
        points = [
            np.moveaxis(a, axis, -1).reshape(-1, a.shape[axis])
            for spec, a in zip(inputs, arrays, strict=True) if a is not None
            for axis in spec.axes_of(group.label) if spec.representation(axis).translated
        ]
        if points:
            group.fit(np.concatenate(points))


def check_run_together(inputs: Sequence[AxisSpec], outputs: Sequence[AxisSpec],
                       groups: Sequence[GroupName], sizes: Mapping[str, int]) -> None:
    """A label with no size whose letters are each a label in use (``'nd'`` beside ``'n d'``),
    or a two-letter one holding a label that a group acts on and no spec carries, is labels
    written without their space: said as such, not as a size to pass (``sizes={"nd": 8}`` would
    check something else)."""
    specs = [*((s, "inputs") for s in inputs), *((s, "outputs") for s in outputs)]
    carried = {lab for s, _ in specs for lab in s.labels}
    acted = {name.label for name in groups} - carried
    known = set(sizes) | {lab for lab in carried if len(lab) == 1} | acted
    for spec, argument in specs:
        for label in spec.labels:
            if label in sizes or len(label) < 2 or not (
                set(label) <= known or (len(label) == 2 and set(label) & acted)
            ):
                continue
            meant = str(spec.split_label(label))
            raise SpecError(
                f"in {str(spec)!r}, {label!r} is one label (labels are separated by spaces); "
                f"did you mean {meant!r}?", argument=argument, value=str(spec))


def check_labels(specs: Sequence[AxisSpec], groups: Sequence[GroupName],
                 sizes: Mapping[str, int]) -> None:
    """Every size and every group must name a label that some spec carries, and no group may
    be named twice (a typo such as ``O(D)`` would otherwise act on nothing and pass)."""
    labels = {lab for spec in specs for lab in spec.labels}
    shown = ", ".join(repr(str(s)) for s in specs)
    unused = [lab for lab in sizes if lab not in labels]
    if unused:
        raise SpecError(
            f"{unused[0]}={sizes[unused[0]]} names {unused[0]!r}, which appears in no spec "
            f"({shown})", argument="sizes", value={unused[0]: sizes[unused[0]]},
        )
    for name in groups:
        if name.label not in labels:
            raise SpecError(f"{str(name)!r} acts on {name.label!r}, which appears in no spec "
                            f"({shown})", argument="groups", value=str(name))
    if len(set(groups)) != len(groups):
        texts = [str(name) for name in groups]
        raise SpecError(f"a group is named twice in {texts}", argument="groups", value=texts)



def _batch_label(specs: tuple[AxisSpec, ...], groups: tuple[Group, ...]) -> str | None:
    """The batch axis: a label from :data:`BATCH_LABELS` leading every spec and nowhere else,
    acted on by no group.

    Only these reserved names count: an unacted leading axis such as the ``n`` of a model
    checked for O(d) alone may well mix its entries (a mean over tokens), so stacking cases
    along it would change the function. A fixed input (data, weights) counts like any other
    spec: one that leads with the label is repeated per case and stacked along it like a drawn
    input, each case's copy turned by that case's element (a frame ``"b e d"`` of weights turned
    with the tokens); the drawn inputs share its size there (bound from the data), so every
    input stacks to the same length. A fixed input that does not lead with the label (weights
    ``"k d"``) cannot be stacked, and the cases run one call each.
    """
    if not specs or any(s.rank == 0 for s in specs):
        return None
    label = specs[0].labels[0]
    if label not in BATCH_LABELS or any(g.label == label for g in groups):
        return None
    if all(s.labels[0] == label and label not in s.labels[1:] for s in specs):
        return label
    return None


def where_raised(exc: BaseException) -> str:
    """`` at model.py:12`` — the innermost frame outside symcheck and the libraries."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "site-packages" not in f.filename and "/symcheck/" not in f.filename
              and not f.filename.startswith("<")]
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def _pick(out: Any, name: str, model: str) -> Any:
    """Output ``name`` of a ModelOutput, dict, dataclass or namedtuple."""
    if isinstance(out, Mapping) and name in out:
        return out[name]
    if hasattr(out, name):
        return getattr(out, name)
    try:
        return out[name]
    except (KeyError, TypeError, IndexError):
        pass
    keys = list(out.keys()) if isinstance(out, Mapping) else [
        k for k in dir(out) if not k.startswith("_")][:12]
    raise ModelError(f"model {model!r} returned {type(out).__name__}, which has no output "
                     f"{name!r} (it has: {', '.join(map(str, keys)) or 'nothing'})",
                     argument="outputs", value=name)


def _outputs(problem: Problem, out: Any) -> tuple[Any, ...]:
    """The model's return value as one value per output spec: named specs are taken by
    attribute or key, the rest by position (a tuple or list), a single value as itself."""
    named = [s.name for s in problem.outputs]
    if any(n is not None for n in named):
        unnamed = [i for i, n in enumerate(named) if n is None]
        seq = tuple(out) if isinstance(out, tuple | list) else (out,)
        values = []
        for i, n in enumerate(named):
            if n is not None:
                values.append(_pick(out, n, problem.name))
            else:
                k = unnamed.index(i)
                values.append(seq[k] if k < len(seq) else None)
        return tuple(values)
    outs = tuple(out) if isinstance(out, tuple | list) else (out,)
    return outs


def call_model(problem: Problem, arrays: Sequence[Array], batch: int = 1) -> tuple[Array, ...]:
    """Run the model; wrap anything it raises, check its outputs against the output specs.

    ``batch`` cases stacked along the batch axis multiply that axis's expected size.
    """
    try:
        # NaN and Inf outputs are the check's to report (as a verdict or a probe's note);
        # numpy's own overflow warnings would only repeat it on stderr. What the model prints
        # goes to stderr: stdout may be a JSON or JUnit document (json written to "-").
        by_name = not problem.positional
        positional = [a for s, a in zip(problem.inputs, arrays, strict=True)
                      if s.name is None or not by_name]
        keywords = {s.name: a for s, a in zip(problem.inputs, arrays, strict=True)
                    if s.name is not None and by_name}
        with np.errstate(all="ignore"), model_stdout_to_stderr():
            out = problem.fn(*positional, **keywords)
    except (KeyboardInterrupt, StopRequest, SymcheckError):
        raise  # a backend's own finding (token ids given floats) is worded already
    except BaseException as exc:  # SystemExit too: model code never ends the check
        raise ModelError(
            f"model {problem.name!r} raised {type(exc).__name__}: {exc}{where_raised(exc)}",
            traceback=True,
        ) from exc
    outs = _outputs(problem, out)
    if len(outs) != len(problem.outputs):
        raise ModelError(
            f"model {problem.name!r} returned {len(outs)} output(s) but {len(problem.outputs)} "
            f"output spec(s) are declared ({', '.join(repr(str(s)) for s in problem.outputs)})",
            argument="outputs",
        )
    sizes = dict(problem.sizes)
    if problem.batch_label is not None:
        sizes[problem.batch_label] *= batch
    result = []
    for i, (spec, o) in enumerate(zip(problem.outputs, outs, strict=True)):
        if o is None or isinstance(o, str | bytes | dict):
            raise ModelError(f"model {problem.name!r} output {i} is {type(o).__name__}, not an "
                             "array", argument="outputs")
        native = getattr(o, "dtype", None)
        if isinstance(native, np.dtype) and native.kind == "c":
            raise ModelError(
                f"model {problem.name!r} output {i} is complex ({native.name}); symcheck compares "
                "real outputs only and never drops an imaginary part: return the real and "
                "imaginary parts as two outputs", argument="outputs",
            )
        try:
            a = np.asarray(o, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ModelError(
                f"model {problem.name!r} output {i} is {type(o).__name__}, not an array: {exc}"
            ) from None
        if isinstance(native, np.dtype) and native.kind == "f":
            problem.observed.output_dtypes.add(native.name)
        expected = tuple(spec.representation(axis).fixed_dim() or (
            -1 if lab not in sizes else spec.representation(axis).dim(sizes[lab]))
            for axis, lab in enumerate(spec.labels))
        if a.ndim != spec.rank or any(
            e not in (-1, s) for e, s in zip(expected, a.shape, strict=True)
        ):
            shown = tuple("?" if e == -1 else e for e in expected)
            raise ModelError(
                f"model {problem.name!r} output {i} has shape {a.shape}, but its spec "
                f"{str(spec)!r} expects {shown}", argument="outputs", value=a.shape,
            )
        result.append(a)
    return tuple(result)

