"""The whole stack of a checkpoint: every layer the file holds, in order, as one forward.

Layers are discovered the way :func:`~symcheck.sources.weights.layouts.find_layer` finds one:
by their layouts' anchor keys, in natural order (``layers.10`` after ``layers.9``). The stack
is the layers applied one after the other (embeddings, a final norm and a head are not layers
and are left out). :func:`check_stack` checks it like one layer: every layer's weights are
fixed inputs of the engine with their embedding axes labelled ``d``, so O(d) co-transforms
all of them with the tokens.

>>> from pathlib import Path
>>> stack = load_stack(Path("llama/model.safetensors"))          # doctest: +SKIP
>>> [layer.name for layer in stack.layers]                        # doctest: +SKIP
['layers.0', 'layers.1']
>>> y = stack_forward(stack.layers)(x)                            # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from symcheck.core.errors import SpecError
from symcheck.core.groups import GroupName
from symcheck.core.signature import (
    WEIGHT_MODE_NAMES,
    WEIGHT_MODES,
    Signature,
    parse_groups,
    parse_specs,
)
from symcheck.engine.equivariance import EquivarianceResult
from symcheck.sources.weights import reference as ref
from symcheck.sources.weights.check import DEFAULT_GROUPS, Settings
from symcheck.sources.weights.files import Config
from symcheck.sources.weights.fold import FoldResult, fold_norms
from symcheck.sources.weights.layouts import (
    LAYOUTS,
    Layer,
    _natural,
    layer_from_config,
)

Array = np.ndarray


@dataclass
class Stack:
    """Every layer of one file, in order, and what folding did to each (when asked)."""

    path: str
    layers: list[Layer]
    heads_source: str
    folds: list[FoldResult] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]


def find_layers(tensors: Mapping[str, Array]) -> list[tuple[str, str]]:
    """``(layout name, prefix)`` of every layer in the file, in natural order (a key that
    anchors two layouts belongs to the one with the longer anchor, as in ``find_layer``)."""
    anchored: dict[str, tuple[str, str, int]] = {}
    for lay in LAYOUTS.values():
        for p in lay.prefixes(tensors):
            held = anchored.get(p + lay.anchor)
            if held is None or len(lay.anchor) > held[2]:
                anchored[p + lay.anchor] = (lay.name, p, len(lay.anchor))
    found = sorted(((name, p) for name, p, _ in anchored.values()),
                   key=lambda hit: _natural(hit[1]))
    # a layer nested in another (an encoder layer's self_attn) is part of it, not a layer
    return [(name, p) for name, p in found
            if not any(q != p and p.startswith(q) for _, q in found)]


def build_stack(tensors: Mapping[str, Array], config: Config, heads: int,
                fold: bool = False) -> tuple[list[Layer], list[FoldResult]]:
    """Every layer of ``tensors`` built with ``config`` (and folded with ``fold``)."""
    from symcheck.core.errors import InputFileError

    found = find_layers(tensors)
    if not found:
        raise InputFileError("weights: no layer of a known layout in the file")
    layers = [layer_from_config(LAYOUTS[name], tensors, prefix, config, heads)
              for name, prefix in found]
    widths = {layer.d for layer in layers}
    if len(widths) > 1:
        raise InputFileError(
            f"weights: the layers do not share one embedding width ({sorted(widths)}); they are "
            "not one stack"
        )
    folds: list[FoldResult] = []
    if fold:
        folds = [fold_norms(layer) for layer in layers]
        layers = [f.layer for f in folds]
    return layers, folds


def load_stack(path: Path, heads: int | None = None, fold: bool = False) -> Stack:
    """Read ``path`` (and its ``config.json``) and build every layer, in order."""
    from symcheck.sources.weights.files import load_weights, read_config

    tensors = load_weights(path)
    config = read_config(path)
    if heads is not None:
        if heads < 1:
            raise SpecError(f"{heads} must be at least 1", argument="heads", value=heads)
        source = "heads"
    elif config.heads is not None:
        heads, source = config.heads, str(config.path)
    else:
        raise SpecError(f"{str(path)!r} does not say how many attention heads it has; give the "
                        "number of heads or put a config.json with num_attention_heads beside it",
                        argument="heads")
    layers, folds = build_stack(tensors, config, heads, fold)
    return Stack(str(path), layers, source, folds)


def layer_forwards(layers: Sequence[Layer]) -> list[Callable[[Array], Array]]:
    """One ``x -> y`` per layer (its block, or its attention when it has no norms)."""
    return [ref.layer_forward(layer) for layer in layers]


def stack_forward(layers: Sequence[Layer]) -> Callable[[Array], Array]:
    """All layers applied in order, as one ``x -> y`` (leading batch axes allowed)."""
    forwards = layer_forwards(layers)

    def forward(x: Array) -> Array:
        for f in forwards:
            x = f(x)
        return x

    return forward


def _stack_params(layers: Sequence[Layer]) -> tuple[list[str], list[str], list[Array]]:
    """Every layer's parameters flattened: names ``"3/q.weight"``, specs, arrays."""
    names, specs, arrays = [], [], []
    for i, layer in enumerate(layers):
        for name, a in layer.params.items():
            names.append(f"{i}/{name}")
            specs.append(layer.specs[name])
            arrays.append(a)
    return names, specs, arrays


def check_stack(layers: Sequence[Layer], groups: Sequence[str | GroupName] = DEFAULT_GROUPS, *,
                mode: str = "cotransform", settings: Settings | None = None,
                case: str | None = None) -> EquivarianceResult:
    """The whole stack checked as one function of the tokens (and, co-transformed, of every
    layer's weights, which the engine turns itself): the same engine, groups and report as a
    single layer's check. The causes of a failure are per layer: :func:`check_layer` on each."""
    from symcheck.sources.weights.check import _check

    settings = settings or Settings()
    if mode not in WEIGHT_MODES:
        raise SpecError(f"{mode!r} is not one of {', '.join(WEIGHT_MODES)}", argument="weights",
                        value=mode)
    names, specs, arrays = _stack_params(layers)

    def build(params: Sequence[Array]) -> list[dict[str, Array]]:
        per: list[dict[str, Array]] = [{} for _ in layers]
        for name, a in zip(names, params, strict=True):
            i, _, key = name.partition("/")
            per[int(i)][key] = a
        return per

    def run(x: Array, per: list[dict[str, Array]]) -> Array:
        for layer, p in zip(layers, per, strict=True):
            x = ref.layer_forward(layer, p)(x)
        return x

    data: tuple[Array | None, ...] | None = None
    all_specs: tuple[str, ...] = ("n d",)
    if mode == "cotransform":
        all_specs += tuple(specs)
        data = (None, *arrays)

    def forward_in(dtype: str) -> Callable[..., Array]:
        if mode == "cotransform":
            return lambda x, *weights: run(x, build(weights))
        fixed = build([a.astype(np.dtype(dtype)) for a in arrays])
        return lambda x: run(x, fixed)

    sizes: dict[str, int] = {"n": settings.n}
    for layer in layers:
        for label, size in layer.sizes.items():
            sizes.setdefault(label, size)
    used = {lab for s in all_specs for lab in s.split()}
    sizes = {k: v for k, v in sizes.items() if k in used}
    signature = Signature(inputs=parse_specs(all_specs, "inputs"),
                          outputs=parse_specs(("n d",), "outputs"), groups=parse_groups(groups),
                          sizes=sizes, trials=settings.trials, rtol=settings.rtol)
    name = f"stack of {len(layers)} layers ({layers[0].name} … {layers[-1].name})"
    return _check(signature, forward_in, data, settings, case, name,
                  f"weights ({WEIGHT_MODE_NAMES[mode]})")
