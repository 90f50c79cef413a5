"""Folding norm gains (and LayerNorm biases) into the linear layers that read the norm.

A norm ``N(x) = n(x) ⊙ g + b`` read by a linear layer ``y = W N(x) + c`` is the same function
as ``y = (W diag g) n(x) + (W b + c)``: the gain moves into the weight's input columns and the
bias into the layer's bias, exactly. This is what SliceGPT, QuaRot and SpinQuant do before
rotating a model's residual stream: once the gains are folded, an RMSNorm is ``x / rms(x)``,
which commutes with every rotation of the embedding space, so the co-transformed block is
exactly O(d)-equivariant. What cannot be folded, and why:

- a **LayerNorm's mean-centring** ``x − mean(x)``: it projects out the all-ones direction,
  which a rotation moves, so the centred block is not O(d)-equivariant whatever the weights;
  it is not a parameter, and folding it into the layer before needs the residual stream to
  be centred everywhere — a whole-model change, not a weights transform of one layer;
- a **post-norm's gain** (BERT, ``nn.TransformerEncoderLayer`` by default): the norm's output
  is also the residual stream and the block's output, not only a linear layer's input.

:func:`fold_norms` is a pure function of a :class:`~symcheck.sources.weights.layouts.Layer`: the
layer given is left unchanged.

>>> import numpy as np
>>> from symcheck.sources.weights.layouts import LAYOUTS, build_layer
>>> rng = np.random.default_rng(0)
>>> sd = {f"self_attn.{c}_proj.weight": rng.standard_normal((4, 4)) for c in "qkvo"}
>>> sd |= {"input_layernorm.weight": 1 + rng.standard_normal(4),
...        "post_attention_layernorm.weight": 1 + rng.standard_normal(4),
...        "mlp.gate_proj.weight": rng.standard_normal((6, 4)),
...        "mlp.up_proj.weight": rng.standard_normal((6, 4)),
...        "mlp.down_proj.weight": rng.standard_normal((4, 6))}
>>> result = fold_norms(build_layer(LAYOUTS["llama"], sd, "", 2))
>>> [f.norm for f in result.folded], result.not_folded
(['input_layernorm', 'post_attention_layernorm'], [])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from symcheck.core.verdicts import SKIP, Serialised, key
from symcheck.sources.weights.layouts import Layer

Array = np.ndarray

#: a pre-norm's readers: the linear layers whose input is the norm's output
READERS = {"ln1": ("q", "k", "v"), "ln2": ("gate", "ff1")}
KINDS = {"rms": "RMSNorm", "layer": "LayerNorm"}


@dataclass(frozen=True)
class Fold:
    """One norm whose parameters moved into the linear layers that read it."""

    norm: str  # the file's name of the norm, e.g. "input_layernorm"
    kind: str  # "RMSNorm" | "LayerNorm"
    what: str  # "gain" | "gain and bias" | "bias"
    into: tuple[str, ...]  # the file's names of the linear layers, e.g. ("self_attn.q_proj", …)

    def describe(self) -> str:
        return f"{self.norm} ({self.kind}) {self.what} folded into {', '.join(self.into)}"


@dataclass(frozen=True)
class NotFolded(Serialised):
    """What of a norm stays, and why it cannot be folded."""

    norm: str
    kind: str = field(metadata=SKIP)
    what: str  # "mean-centring" | "gain" | "gain and bias"
    why: str

    def describe(self) -> str:
        return f"{self.norm} ({self.kind}) {self.what} not folded: {self.why}"


@dataclass
class FoldResult(Serialised):
    """The folded layer, what was folded and what was not (with the reason)."""

    layer: Layer = field(metadata=SKIP)
    folded: list[Fold] = field(default_factory=list, metadata=key(
        convert=lambda folds: [f.describe() for f in folds]))
    not_folded: list[NotFolded] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        return [f.describe() for f in self.folded] + [n.describe() for n in self.not_folded]


CENTRING = ("it subtracts each token's mean, i.e. projects out the all-ones direction, which a "
            "rotation of the embedding moves; it is not a parameter, so no weight can absorb it")
POST_NORM = ("post-norm: its output is also the residual stream and the block's output, so its "
             "parameters have no single linear layer to move into")


def fold_norms(layer: Layer) -> FoldResult:
    """Fold every norm gain (and LayerNorm bias) into the linear layers that read the norm.

    Exact in exact arithmetic: the folded layer computes the same function (to round-off).
    """
    params = dict(layer.params)
    keys = dict(layer.keys)
    kind = KINDS.get(layer.norm, layer.norm)
    result = FoldResult(layer)
    for norm in layer.norms:
        name = layer.parts.get(norm, norm)
        gain, bias = params.get(f"{norm}.weight"), params.get(f"{norm}.bias")
        held = " and ".join(w for w, a in (("gain", gain), ("bias", bias)) if a is not None)
        if not layer.norm_first:
            if held:
                result.not_folded.append(NotFolded(name, kind, held, POST_NORM))
        elif held:
            readers = [r for r in READERS[norm] if f"{r}.weight" in params]
            for r in readers:
                w = params[f"{r}.weight"]
                b = params.get(f"{r}.bias", np.zeros(w.shape[0]))
                if bias is not None:
                    b = b + w @ bias
                if gain is not None:
                    w = w * gain[None, :]
                params[f"{r}.weight"] = w
                params[f"{r}.bias"] = b
                keys[f"{r}.weight"] = f"{keys[f'{r}.weight']} × {name} {held}"
                keys[f"{r}.bias"] = f"{keys.get(f'{r}.bias', 'none: zeros')} + {name}"
            for suffix in ("weight", "bias"):
                params.pop(f"{norm}.{suffix}", None)
                keys.pop(f"{norm}.{suffix}", None)
            into = tuple(dict.fromkeys(_linear_name(layer, keys_of(layer, r)) for r in readers))
            result.folded.append(Fold(name, kind, held, into))
        if layer.norm == "layer":
            result.not_folded.append(NotFolded(name, kind, "mean-centring", CENTRING))
    result.layer = replace(layer, params=params, keys=keys,
                           notes=[*layer.notes, *result.notes])
    return result


def keys_of(layer: Layer, reader: str) -> str:
    return layer.keys[f"{reader}.weight"]


def _linear_name(layer: Layer, key: str) -> str:
    """``layers.0.self_attn.q_proj.weight`` -> ``self_attn.q_proj``; GPT-2's column blocks
    ``h.0.attn.c_attn.weight[:, 0:24]`` -> ``attn.c_attn``."""
    key = re.sub(r"\[.*\]$", "", key)
    return key.removeprefix(layer.prefix).removesuffix(".weight")
