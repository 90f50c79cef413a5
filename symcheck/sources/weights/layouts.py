"""Weight layouts: where a file keeps the matrices of one attention layer.

A layout is a small class in a registry (:data:`LAYOUTS`). It recognises its keys by one
*anchor* key (``in_proj_weight``, ``attention.self.query.weight``, ``W_Q``) that may carry a
prefix (``encoder.layer.3.``), and maps the file's arrays to canonical parameters in PyTorch's
``Linear`` orientation (``weight`` is ``(out, in)``, ``y = x Wᵀ + b``):

=============  ============  ===========================================================
canonical      spec          lives in
=============  ============  ===========================================================
q/k.weight     ``k d``       out: head space (not turned), in: embedding ``d``
v.weight       ``v d``       out: head space, in: embedding
o.weight       ``d v``       out: embedding, in: head space
q/k/v.bias     ``k``/``v``   head space
o.bias         ``d``         embedding
ln1/ln2.*      ``d``         embedding (LayerNorm gain and bias)
ff1.weight     ``f d``       feed-forward hidden ``f`` × embedding
ff2.weight     ``d f``       embedding × feed-forward hidden
ff1.bias       ``f``;  ff2.bias ``d``
gate.weight    ``f d``       a gated feed-forward's gate (SwiGLU: ``ff2(act(gate x) ⊙ ff1 x)``)
gate.bias      ``f``
=============  ============  ===========================================================

With grouped-query attention (fewer key/value heads than query heads) the key and value
projections have their own width ``c`` (``k.weight``/``v.weight`` are ``c d``). A norm may
be a LayerNorm (``Layer.norm == "layer"``: gain and bias) or an RMSNorm (``"rms"``: gain
only); a norm whose gain was folded away (:mod:`symcheck.sources.weights.fold`) has no
parameters but still normalises (``Layer.norms`` lists the norms a layer applies).

Every axis labelled ``d`` lives in the embedding space: it is *knowledge* and turns with the
embedding when the weights are co-transformed. Adding a layout is adding a class with
:func:`register_layout`.

>>> sorted(LAYOUTS)
['bert', 'gpt2', 'llama', 'plain', 'torch-encoder', 'torch-mha']
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from symcheck.core.errors import InputFileError, SpecError
from symcheck.sources.weights.files import Config

Array = np.ndarray

#: canonical parameter -> axis spec (PyTorch orientation); labels as in the table above
SPECS: dict[str, str] = {
    "q.weight": "k d", "q.bias": "k", "k.weight": "k d", "k.bias": "k",
    "v.weight": "v d", "v.bias": "v", "o.weight": "d v", "o.bias": "d",
    "ln1.weight": "d", "ln1.bias": "d",
    "ff1.weight": "f d", "ff1.bias": "f", "ff2.weight": "d f", "ff2.bias": "d",
    "ln2.weight": "d", "ln2.bias": "d",
    "gate.weight": "f d", "gate.bias": "f",
}
#: grouped-query attention: the key/value projections are narrower than the query's
GQA_SPECS: dict[str, str] = {"k.weight": "c d", "k.bias": "c", "v.weight": "c d", "v.bias": "c"}
ATTENTION = ("q.weight", "q.bias", "k.weight", "k.bias", "v.weight", "v.bias",
             "o.weight", "o.bias")
#: bias -> its weight; an absent bias (a layer built with bias=False) is zeros
BIASES = {f"{m}.bias": f"{m}.weight"
          for m in ("q", "k", "v", "o", "ln1", "ff1", "ff2", "ln2", "gate")}
NORMS = ("ln1", "ln2")


@dataclass(frozen=True)
class Entry:
    """One canonical parameter as found in the file."""

    name: str  # canonical, e.g. "q.weight"
    key: str  # where it is in the file, e.g. "encoder.layer.0.attention.self.query.weight"
    array: Array  # as stored in the file
    transposed: bool = False  # stored as (in, out): the canonical array is array.T
    rows: slice | None = None  # a block of rows of a packed array (in_proj_weight)
    cols: slice | None = None  # a block of columns (GPT-2's fused (in, 3·out) c_attn)

    def block(self) -> Array:
        """The part of the stored array this parameter is (before any transpose)."""
        a = self.array
        if self.rows is not None:
            a = a[self.rows]
        if self.cols is not None:
            a = a[:, self.cols]
        return a


@dataclass
class Layer:
    """The weights of one layer, canonical and checked, with where each came from.

    Besides the arrays, the few facts a forward needs that no array holds: heads (and key/value
    heads), the norm kind and epsilon, the activation, pre- or post-norm, a causal mask, the
    RoPE base, and the score scale.
    """

    layout: str
    prefix: str
    heads: int
    params: dict[str, Array]
    keys: dict[str, str]  # canonical name -> file key ("none: zeros" for an absent bias)
    parts: dict[str, str]  # canonical part ("self", "out", "ln1", "ffn", "ln2") -> file name
    eps: float = 1e-12
    activation: str = "gelu"
    norm_first: bool = False  # pre-norm (x + f(N(x))) instead of post (N(x + f(x)))
    notes: list[str] = field(default_factory=list)
    kv_heads: int | None = None  # grouped-query attention: key/value heads (None: = heads)
    causal: bool = False  # token i attends to tokens j ≤ i only
    rope_theta: float | None = None  # rotary position embedding of q and k (None: none)
    scale: float | None = None  # scores scale (None: 1/√head_dim)
    window: int | None = None  # sliding window of the causal mask (None: the whole prefix)
    norm: str = "layer"  # "layer" (LayerNorm) or "rms" (RMSNorm)
    #: the norms the layer applies ("ln1", "ln2"), with or without parameters
    norms: tuple[str, ...] = ()

    @property
    def d(self) -> int:
        return int(self.params["q.weight"].shape[1])

    @property
    def grouped(self) -> bool:
        return self.kv_heads is not None and self.kv_heads != self.heads

    @property
    def specs(self) -> dict[str, str]:
        """Axis spec of every canonical parameter of this layer (GQA widens the labels)."""
        return {**SPECS, **GQA_SPECS} if self.grouped else dict(SPECS)

    @property
    def sizes(self) -> dict[str, int]:
        specs = self.specs
        sizes: dict[str, int] = {}
        for name in ("q.weight", "k.weight", "v.weight", "o.weight", "ff1.weight"):
            if name in self.params:
                for label, size in zip(specs[name].split(), self.params[name].shape,
                                       strict=True):
                    sizes.setdefault(label, int(size))
        return sizes

    @property
    def components(self) -> tuple[str, ...]:
        return ("attention", "block") if self.norms else ("attention",)

    @property
    def name(self) -> str:
        return self.prefix.rstrip(".") or "(top level)"

    @property
    def attention_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`reference.self_attention` for this layer."""
        return {"kv_heads": self.kv_heads, "causal": self.causal, "rope_theta": self.rope_theta,
                "scale": self.scale, "window": self.window}


class Layout(ABC):
    """Recognises one naming scheme and maps its keys to canonical parameters."""

    name: ClassVar[str]
    summary: ClassVar[str]
    anchor: ClassVar[str]
    #: the keys a layer of this layout has (after the prefix), for error messages
    shown_keys: ClassVar[tuple[str, ...]]
    default_eps: ClassVar[float] = 1e-5
    default_activation: ClassVar[str] = "gelu"
    #: further keys a prefix needs, and keys it must not have, to be a layer of this layout
    required: ClassVar[tuple[str, ...]] = ()
    excluded: ClassVar[tuple[str, ...]] = ()
    #: what the architecture fixes (not in the arrays): the norm kind, pre-norm (None: from
    #: config.json's ``norm_first``), a causal mask, rotary embeddings (base from the config)
    norm: ClassVar[str] = "layer"
    norm_first: ClassVar[bool | None] = None
    causal: ClassVar[bool] = False
    rope: ClassVar[bool] = False
    default_rope_theta: ClassVar[float] = 10000.0

    def prefixes(self, keys: Mapping[str, Array]) -> list[str]:
        """Every prefix ``p`` such that ``p + anchor`` is a key (``p`` is '' or ends with '.')."""
        found = []
        for key in keys:
            if key == self.anchor:
                found.append("")
            elif key.endswith("." + self.anchor):
                found.append(key[: -len(self.anchor)])
        return sorted((p for p in found if all(p + k in keys for k in self.required)
                       and not any(p + k in keys for k in self.excluded)), key=_natural)

    @abstractmethod
    def entries(self, tensors: Mapping[str, Array], prefix: str) -> list[Entry]:
        """The canonical parameters of the layer at ``prefix`` (raises on a missing key)."""

    @abstractmethod
    def part_names(self, prefix: str) -> dict[str, str]:
        """Names of the parts as the file calls them (used to name a failing part)."""


LAYOUTS: dict[str, Layout] = {}


def register_layout(cls: type[Layout]) -> type[Layout]:
    LAYOUTS[cls.name] = cls()
    return cls


def _natural(text: str) -> list[object]:
    """``encoder.layer.10`` after ``encoder.layer.9``."""
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", text)]


def _need(tensors: Mapping[str, Array], key: str, layout: str, shown: str) -> Array:
    if key not in tensors:
        raise InputFileError(
            f"weights: missing key {key!r} (layout {layout}: a layer needs {shown})"
        )
    return tensors[key]


@register_layout
class TorchMultiheadAttention(Layout):
    name = "torch-mha"
    summary = "PyTorch nn.MultiheadAttention state dict"
    anchor = "in_proj_weight"
    shown_keys = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")

    def entries(self, tensors: Mapping[str, Array], prefix: str) -> list[Entry]:
        shown = ", ".join(self.shown_keys)
        for extra in ("bias_k", "bias_v"):
            if prefix + extra in tensors:
                raise InputFileError(
                    f"weights: {prefix + extra!r}: nn.MultiheadAttention(add_bias_kv=True) is "
                    "not supported (the extra key/value token has no place in a check over n)"
                )
        w = _need(tensors, prefix + "in_proj_weight", self.name, shown)
        if w.ndim != 2 or w.shape[0] != 3 * w.shape[1]:
            raise InputFileError(
                f"weights: {prefix + 'in_proj_weight'!r} has shape {w.shape}, expected "
                "(3·E, E): query, key and value projections stacked"
            )
        e = w.shape[1]
        out = [Entry(f"{c}.weight", f"{prefix}in_proj_weight[{i * e}:{(i + 1) * e}]", w,
                     rows=slice(i * e, (i + 1) * e)) for i, c in enumerate("qkv")]
        if prefix + "in_proj_bias" in tensors:
            b = tensors[prefix + "in_proj_bias"]
            if b.shape != (3 * e,):
                raise InputFileError(
                    f"weights: {prefix + 'in_proj_bias'!r} has shape {b.shape}, expected "
                    f"({3 * e},) to match {prefix + 'in_proj_weight'!r} {w.shape}"
                )
            out += [Entry(f"{c}.bias", f"{prefix}in_proj_bias[{i * e}:{(i + 1) * e}]", b,
                          rows=slice(i * e, (i + 1) * e)) for i, c in enumerate("qkv")]
        out.append(Entry("o.weight", prefix + "out_proj.weight",
                         _need(tensors, prefix + "out_proj.weight", self.name, shown)))
        if prefix + "out_proj.bias" in tensors:
            out.append(Entry("o.bias", prefix + "out_proj.bias", tensors[prefix + "out_proj.bias"]))
        return out

    def part_names(self, prefix: str) -> dict[str, str]:
        return {"self": "in_proj (scores and values)", "out": "out_proj"}


@register_layout
class BertLayer(Layout):
    name = "bert"
    summary = "HuggingFace BERT-style layer (attention, LayerNorm, feed-forward)"
    anchor = "attention.self.query.weight"
    default_eps = 1e-12  # BERT's layer_norm_eps when no config.json says otherwise
    #: canonical name -> key after the prefix
    KEYS: ClassVar[dict[str, str]] = {
        "q.weight": "attention.self.query.weight", "q.bias": "attention.self.query.bias",
        "k.weight": "attention.self.key.weight", "k.bias": "attention.self.key.bias",
        "v.weight": "attention.self.value.weight", "v.bias": "attention.self.value.bias",
        "o.weight": "attention.output.dense.weight", "o.bias": "attention.output.dense.bias",
        "ln1.weight": "attention.output.LayerNorm.weight",
        "ln1.bias": "attention.output.LayerNorm.bias",
        "ff1.weight": "intermediate.dense.weight", "ff1.bias": "intermediate.dense.bias",
        "ff2.weight": "output.dense.weight", "ff2.bias": "output.dense.bias",
        "ln2.weight": "output.LayerNorm.weight", "ln2.bias": "output.LayerNorm.bias",
    }
    shown_keys = tuple(KEYS.values())
    #: parameters that come together: all present or all absent
    GROUPS: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = (
        ("attention", ATTENTION),
        ("attention.output.LayerNorm", ("ln1.weight", "ln1.bias")),
        ("feed-forward", ("ff1.weight", "ff1.bias", "ff2.weight", "ff2.bias",
                          "ln2.weight", "ln2.bias")),
    )

    def entries(self, tensors: Mapping[str, Array], prefix: str) -> list[Entry]:
        present = {c for c, k in self.KEYS.items() if prefix + k in tensors}
        out = []
        for i, (group, names) in enumerate(self.GROUPS):
            have = [c for c in names if c in present]
            # the attention core is always needed; the rest are all-or-nothing blocks
            if i == 0 or have:
                missing = [prefix + self.KEYS[c] for c in names if c not in present]
                if missing:
                    raise InputFileError(
                        f"weights: missing key {missing[0]!r}"
                        + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                        + f" (layout {self.name}: {group} needs "
                        + ", ".join(self.KEYS[c] for c in names) + ")"
                    )
                out += [Entry(c, prefix + self.KEYS[c], tensors[prefix + self.KEYS[c]])
                        for c in names]
        if "ff1.weight" in present and "ln1.weight" not in present:
            raise InputFileError(
                f"weights: missing key {prefix + self.KEYS['ln1.weight']!r} (layout {self.name}:"
                " the feed-forward block follows attention.output.LayerNorm)"
            )
        return out

    def part_names(self, prefix: str) -> dict[str, str]:
        return {"self": "attention.self", "out": "attention.output.dense",
                "ln1": "attention.output.LayerNorm", "ffn": "intermediate.dense + output.dense",
                "ln2": "output.LayerNorm"}


@register_layout
class TorchEncoderLayer(Layout):
    """``nn.TransformerEncoderLayer``: post-LayerNorm unless config.json says ``norm_first``.

    The state dict does not record the activation (relu by default) or ``norm_first``; a
    ``config.json`` beside the file gives them as ``hidden_act``/``activation`` and
    ``norm_first``.
    """

    name = "torch-encoder"
    summary = "PyTorch nn.TransformerEncoderLayer state dict"
    anchor = "self_attn.in_proj_weight"
    required = ("linear1.weight", "norm1.weight")
    excluded = ("multihead_attn.in_proj_weight",)  # a decoder layer: its attentions one by one
    default_activation = "relu"
    KEYS: ClassVar[dict[str, str]] = {
        "o.weight": "self_attn.out_proj.weight", "o.bias": "self_attn.out_proj.bias",
        "ln1.weight": "norm1.weight", "ln1.bias": "norm1.bias",
        "ff1.weight": "linear1.weight", "ff1.bias": "linear1.bias",
        "ff2.weight": "linear2.weight", "ff2.bias": "linear2.bias",
        "ln2.weight": "norm2.weight", "ln2.bias": "norm2.bias",
    }
    shown_keys = ("self_attn.in_proj_weight", "self_attn.out_proj.weight", "linear1.weight",
                  "linear2.weight", "norm1.weight", "norm2.weight")

    def entries(self, tensors: Mapping[str, Array], prefix: str) -> list[Entry]:
        attention = [e for e in LAYOUTS["torch-mha"].entries(tensors, prefix + "self_attn.")
                     if not e.name.startswith("o.")]
        shown = ", ".join(self.KEYS.values())
        return attention + [
            Entry(c, prefix + k, _need(tensors, prefix + k, self.name, shown))
            for c, k in self.KEYS.items() if not k.endswith(".bias") or prefix + k in tensors
        ]

    def part_names(self, prefix: str) -> dict[str, str]:
        return {"self": "self_attn (in_proj)", "out": "self_attn.out_proj", "ln1": "norm1",
                "ffn": "linear1 + linear2", "ln2": "norm2"}


@register_layout
class PlainMatrices(Layout):
    """``W_Q, W_K, W_V`` of shape ``(d, h·k)``, ``W_O`` of shape ``(h·v, d)``: ``X W``.

    The orientation of the papers (``softmax(X W_Q W_Kᵀ Xᵀ)``); optional biases ``b_Q, b_K,
    b_V, b_O``.
    """

    name = "plain"
    summary = "plain matrices W_Q, W_K, W_V (d × h·k), W_O (h·v × d), used as X·W"
    anchor = "W_Q"
    shown_keys = ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O")

    def entries(self, tensors: Mapping[str, Array], prefix: str) -> list[Entry]:
        shown = "W_Q, W_K, W_V, W_O (biases b_Q, b_K, b_V, b_O optional)"
        out = [Entry(f"{c}.weight", prefix + f"W_{c.upper()}",
                     _need(tensors, prefix + f"W_{c.upper()}", self.name, shown), transposed=True)
               for c in "qkvo"]
        out += [Entry(f"{c}.bias", prefix + f"b_{c.upper()}", tensors[prefix + f"b_{c.upper()}"])
                for c in "qkvo" if prefix + f"b_{c.upper()}" in tensors]
        return out

    def part_names(self, prefix: str) -> dict[str, str]:
        return {"self": "W_Q, W_K, W_V", "out": "W_O"}


@register_layout
class LlamaLayer(Layout):
    """A Llama-style decoder layer (also Mistral, Qwen2: the same names).

    Pre-RMSNorm, causal, rotary embeddings on q and k (base ``rope_theta``), grouped-query
    attention (``num_key_value_heads``), a SwiGLU feed-forward ``down(act(gate x) ⊙ up x)``.
    Biases are optional (Qwen2 has q/k/v biases; ``attention_bias``/``mlp_bias`` models more).
    """

    name = "llama"
    summary = "Llama-style decoder layer (Llama, Mistral, Qwen2: q/k/v/o_proj, RMSNorm, SwiGLU)"
    anchor = "self_attn.q_proj.weight"
    #: an encoder-decoder layer (BART, Whisper) also has self_attn.q_proj but no mlp.* or
    #: input_layernorm: it is not read as this layout
    required = ("input_layernorm.weight", "mlp.down_proj.weight")
    default_eps = 1e-6  # LlamaConfig's rms_norm_eps
    default_activation = "silu"
    norm = "rms"
    norm_first = True
    causal = True
    rope = True
    KEYS: ClassVar[dict[str, str]] = {
        "q.weight": "self_attn.q_proj.weight", "q.bias": "self_attn.q_proj.bias",
        "k.weight": "self_attn.k_proj.weight", "k.bias": "self_attn.k_proj.bias",
        "v.weight": "self_attn.v_proj.weight", "v.bias": "self_attn.v_proj.bias",
        "o.weight": "self_attn.o_proj.weight", "o.bias": "self_attn.o_proj.bias",
        "ln1.weight": "input_layernorm.weight", "ln2.weight": "post_attention_layernorm.weight",
        "gate.weight": "mlp.gate_proj.weight", "gate.bias": "mlp.gate_proj.bias",
        "ff1.weight": "mlp.up_proj.weight", "ff1.bias": "mlp.up_proj.bias",
        "ff2.weight": "mlp.down_proj.weight", "ff2.bias": "mlp.down_proj.bias",
    }
    shown_keys = tuple(k for k in KEYS.values() if not k.endswith(".bias"))

    def entries(self, tensors: Mapping[str, Array], prefix: str) -> list[Entry]:
        shown = ", ".join(self.shown_keys) + " (biases optional)"
        return [Entry(c, prefix + k, _need(tensors, prefix + k, self.name, shown))
                for c, k in self.KEYS.items()
                if not k.endswith(".bias") or prefix + k in tensors]

    def part_names(self, prefix: str) -> dict[str, str]:
        return {"self": "self_attn (q/k/v_proj)", "out": "self_attn.o_proj",
                "ln1": "input_layernorm", "ffn": "mlp (gate/up/down_proj)",
                "ln2": "post_attention_layernorm"}


@register_layout
class GPT2Layer(Layout):
    """A GPT-2 block: pre-LayerNorm, causal, ``Conv1D`` weights stored ``(in, out)``.

    ``attn.c_attn`` holds query, key and value side by side: ``(d, 3·d)``, split by columns.
    """

    name = "gpt2"
    summary = "GPT-2 block (attn.c_attn Conv1D with fused qkv, ln_1, ln_2, mlp.c_fc)"
    anchor = "attn.c_attn.weight"
    required = ("ln_1.weight",)
    default_activation = "gelu_new"
    norm_first = True
    causal = True
    KEYS: ClassVar[dict[str, str]] = {
        "o.weight": "attn.c_proj.weight", "o.bias": "attn.c_proj.bias",
        "ln1.weight": "ln_1.weight", "ln1.bias": "ln_1.bias",
        "ff1.weight": "mlp.c_fc.weight", "ff1.bias": "mlp.c_fc.bias",
        "ff2.weight": "mlp.c_proj.weight", "ff2.bias": "mlp.c_proj.bias",
        "ln2.weight": "ln_2.weight", "ln2.bias": "ln_2.bias",
    }
    shown_keys = ("attn.c_attn.weight", "attn.c_proj.weight", "ln_1.weight", "ln_2.weight",
                  "mlp.c_fc.weight", "mlp.c_proj.weight")

    def entries(self, tensors: Mapping[str, Array], prefix: str) -> list[Entry]:
        shown = ", ".join(self.shown_keys)
        if prefix + "crossattention.c_attn.weight" in tensors:
            raise InputFileError(
                f"weights: {prefix + 'crossattention.c_attn.weight'!r}: GPT-2 cross-attention "
                "(add_cross_attention) is not supported (it reads a second sequence)"
            )
        key = prefix + "attn.c_attn.weight"
        w = _need(tensors, key, self.name, shown)
        if w.ndim != 2 or w.shape[1] != 3 * w.shape[0]:
            raise InputFileError(
                f"weights: {key!r} has shape {w.shape}, expected (E, 3·E): a Conv1D (in, out) "
                "with query, key and value side by side"
            )
        e = w.shape[0]
        out = [Entry(f"{c}.weight", f"{key}[:, {i * e}:{(i + 1) * e}]", w, transposed=True,
                     cols=slice(i * e, (i + 1) * e)) for i, c in enumerate("qkv")]
        bias_key = prefix + "attn.c_attn.bias"
        if bias_key in tensors:
            b = tensors[bias_key]
            if b.shape != (3 * e,):
                raise InputFileError(f"weights: {bias_key!r} has shape {b.shape}, expected "
                                     f"({3 * e},) to match {key!r} {w.shape}")
            out += [Entry(f"{c}.bias", f"{bias_key}[{i * e}:{(i + 1) * e}]", b,
                          rows=slice(i * e, (i + 1) * e)) for i, c in enumerate("qkv")]
        for c, k in self.KEYS.items():
            if k.endswith(".bias") and prefix + k not in tensors:
                continue
            out.append(Entry(c, prefix + k, _need(tensors, prefix + k, self.name, shown),
                             transposed=c.endswith(".weight") and not c.startswith("ln")))
        return out

    def part_names(self, prefix: str) -> dict[str, str]:
        return {"self": "attn.c_attn", "out": "attn.c_proj", "ln1": "ln_1",
                "ffn": "mlp.c_fc + mlp.c_proj", "ln2": "ln_2"}


def known_layouts() -> str:
    return "; ".join(f"{lay.name} ({lay.summary}: {', '.join(lay.shown_keys[:4])}, …)"
                     for lay in LAYOUTS.values())


def find_layer(tensors: Mapping[str, Array], layer: str | None) -> tuple[Layout, str, list[str]]:
    """The layout and prefix of the layer to check, and every layer found (for the report).

    With several layers and no ``layer`` the first is checked (the report says so).
    """
    anchored: dict[str, tuple[Layout, str]] = {}
    for lay in LAYOUTS.values():
        for p in lay.prefixes(tensors):
            # one key can anchor two layouts (an encoder layer's self_attn.in_proj_weight is
            # also an nn.MultiheadAttention's in_proj_weight): the longer anchor is the layer
            held = anchored.get(p + lay.anchor)
            if held is None or len(lay.anchor) > len(held[0].anchor):
                anchored[p + lay.anchor] = (lay, p)
    found = sorted(anchored.values(), key=lambda hit: _natural(hit[1]))
    if not found:
        keys = sorted(tensors, key=_natural)
        shown = ", ".join(keys[:12]) + (f", … ({len(keys)} keys)" if len(keys) > 12 else "")
        raise InputFileError(
            f"weights: unknown layout; keys found: {shown}; layouts known: {known_layouts()}"
        )
    names = [p.rstrip(".") or "(top level)" for _, p in found]
    if layer is None:
        return found[0][0], found[0][1], names
    want = layer.strip().rstrip(".")
    hits = [(lay, p) for lay, p in found
            if p.rstrip(".") == want or p.rstrip(".").endswith("." + want)]
    if not hits:  # a block that holds the attention: layers.0 for layers.0.self_attn.
        hits = [(lay, p) for lay, p in found if f".{want}." in f".{p}"]
    if not hits:
        raise SpecError(f"{layer!r} is not a layer of the file; layers found: "
                        f"{', '.join(names)}", argument="layer", value=layer)
    if len(hits) > 1:
        raise SpecError(f"{layer!r} matches {len(hits)} layers "
                        f"({', '.join(p.rstrip('.') for _, p in hits)}); give the full prefix",
                        argument="layer", value=layer)
    return hits[0][0], hits[0][1], names


#: tensors a layer may hold that take no part in its function: RoPE's cached frequencies
#: (older Llama checkpoints) and GPT-2's causal-mask buffers
HARMLESS_SUFFIXES = ("rotary_emb.inv_freq", "attn.bias", "attn.masked_bias")


def _refuse_unknown(layout: Layout, tensors: Mapping[str, Array], prefix: str,
                    used: set[str]) -> None:
    """Refuse a layer holding tensors its layout does not use (Qwen3's q_norm/k_norm, a
    relative-position table, an extra scale): the reference would check another function than
    the checkpoint's, and its verdict would speak of that one."""
    if not prefix:  # a file of one bare layer: its other tensors belong to no layer prefix
        return
    unknown = sorted(k for k in tensors if k.startswith(prefix) and k not in used
                     and not k.endswith(HARMLESS_SUFFIXES))
    if unknown:
        shown = ", ".join(k[len(prefix):] for k in unknown[:4])
        more = f" and {len(unknown) - 4} more" if len(unknown) > 4 else ""
        raise SpecError(
            f"{prefix.rstrip('.')!r} holds {len(unknown)} tensor"
            f"{'s' if len(unknown) > 1 else ''} the {layout.name} layout does not model "
            f"({shown}{more}); checking it without them would check another function",
            argument="layer"
        )


def build_layer(
    layout: Layout, tensors: Mapping[str, Array], prefix: str, heads: int,
    eps: float | None = None, activation: str | None = None, norm_first: bool = False, *,
    kv_heads: int | None = None, rope_theta: float | None = None, scale: float | None = None,
    window: int | None = None,
) -> Layer:
    """Check every array (floating, finite, consistent shapes) and make the :class:`Layer`.

    What the layout fixes (the norm kind, pre-norm, causal, rotary) wins over the arguments;
    ``kv_heads``, ``rope_theta`` and ``scale`` come from the config (:func:`layer_from_config`).
    """
    entries = layout.entries(tensors, prefix)
    _refuse_unknown(layout, tensors, prefix, {e.key.partition("[")[0] for e in entries})
    for e in entries:
        _check_values(e)
    params: dict[str, Array] = {}
    keys: dict[str, str] = {}
    for e in entries:
        a = np.asarray(e.block(), dtype=np.float64)
        params[e.name] = a.T if e.transposed else a
        keys[e.name] = e.key
    grouped = kv_heads is not None and kv_heads != heads
    _check_shapes(entries, params, {**SPECS, **GQA_SPECS} if grouped else SPECS)
    norms = tuple(n for n in NORMS if f"{n}.weight" in params)
    notes = []
    absent: list[str] = []
    for bias, weight in BIASES.items():
        if layout.norm == "rms" and bias.startswith("ln"):
            continue  # an RMSNorm has no bias
        if bias not in params and weight in params:
            params[bias] = np.zeros(params[weight].shape[0])
            keys[bias] = "none: zeros"
            absent.append(bias)
    if absent:
        notes.append(f"{', '.join(absent)} absent: zeros")
    for name in ("q.weight",) if grouped else ("q.weight", "v.weight"):
        width = params[name].shape[0]
        if width % heads:
            raise SpecError(
                f"{heads} heads do not divide the {name[0]}-projection width {width} "
                f"({keys[name]!r} has shape {params[name].shape})", argument="heads", value=heads
            )
    if grouped:
        _check_groups(heads, kv_heads, params, keys)
        notes.append(f"grouped-query attention: {kv_heads} key/value heads for {heads} query "
                     "heads")
    theta = (rope_theta or layout.default_rope_theta) if layout.rope else None
    if layout.causal:
        notes.append("causal mask: each token attends only to itself and earlier tokens, so "
                     "permuting the tokens (S(n)) changes what each one sees")
    window = window if layout.causal else None  # a window narrows a causal mask only
    if window is not None:
        notes.append(f"sliding window {window} (config): each token attends to the {window} "
                     "tokens up to itself")
    if theta is not None:
        notes.append(f"rotary position embedding (base {theta:g}) on q and k: it acts in head "
                     "space after the projections, so it leaves the co-transformed O(d) intact, "
                     "and ties scores to positions, so it breaks S(n)")
    return Layer(layout.name, prefix, heads, params, keys, layout.part_names(prefix),
                 eps=layout.default_eps if eps is None else eps,
                 activation=activation or layout.default_activation,
                 norm_first=norm_first if layout.norm_first is None else layout.norm_first,
                 notes=notes, kv_heads=kv_heads if grouped else None, causal=layout.causal,
                 rope_theta=theta, window=window,
                 scale=scale, norm=layout.norm, norms=norms)


def _check_groups(heads: int, kv_heads: int | None, params: Mapping[str, Array],
                  keys: Mapping[str, str]) -> None:
    """Grouped-query attention: the key/value heads divide the query heads, and a key head is
    as wide as a query head."""
    assert kv_heads is not None
    if heads % kv_heads:
        raise SpecError(f"{kv_heads} key/value heads do not divide {heads} query heads",
                        argument="kv_heads", value=kv_heads)
    width = params["k.weight"].shape[0]
    if params["v.weight"].shape[0] != width:
        raise InputFileError(
            f"weights: {keys['v.weight']!r} has shape {params['v.weight'].shape} but "
            f"{keys['k.weight']!r} has {params['k.weight'].shape}: grouped-query attention "
            "needs key and value projections of one width"
        )
    if width % kv_heads or width // kv_heads != params["q.weight"].shape[0] // heads:
        raise InputFileError(
            f"weights: {keys['k.weight']!r} has shape {params['k.weight'].shape}: {kv_heads} "
            f"key/value heads of width {params['q.weight'].shape[0] // heads} (the query heads' "
            f"width) need {kv_heads * (params['q.weight'].shape[0] // heads)} rows"
        )


def layer_from_config(layout: Layout, tensors: Mapping[str, Array], prefix: str,
                      config: Config, heads: int) -> Layer:
    """:func:`build_layer` with everything a ``config.json`` says (eps, activation, pre-norm,
    key/value heads, RoPE base, GPT-2's score scaling)."""
    scale = None
    if layout.name == "gpt2":
        width = tensors[prefix + layout.anchor].shape[0] // heads if heads else 1
        scale = 1.0 / math.sqrt(width) if config.scale_attn_weights else 1.0
        if config.scale_attn_by_inverse_layer_idx:
            scale /= float(_layer_index(prefix) + 1)
    window = config.sliding_window
    if window is not None and config.layer_types is not None:
        index = _layer_index(prefix)
        kind = config.layer_types[index] if index < len(config.layer_types) else None
        window = window if kind == "sliding_attention" else None
    return build_layer(layout, tensors, prefix, heads, config.layer_norm_eps, config.hidden_act,
                       config.norm_first, kv_heads=config.kv_heads, rope_theta=config.rope_theta,
                       scale=scale, window=window)


def _layer_index(prefix: str) -> int:
    """``h.3.`` -> 3 (GPT-2 scales layer i's scores by 1/(i + 1) when configured to)."""
    numbers = re.findall(r"\d+", prefix)
    if not numbers:
        raise InputFileError(f"weights: layer {prefix!r} has no index; "
                             "scale_attn_by_inverse_layer_idx needs one (h.N.)")
    return int(numbers[-1])


def _check_values(e: Entry) -> None:
    a = e.block()
    if a.dtype.kind != "f":
        raise InputFileError(f"weights: {e.key!r} has dtype {a.dtype}, not floating point")
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputFileError(
            f"weights: {e.key!r} has {int(bad.sum())} NaN/Inf value(s) of {a.size} "
            f"(first at index {first})"
        )


def _check_shapes(entries: list[Entry], params: Mapping[str, Array],
                  specs: Mapping[str, str] = SPECS) -> None:
    """Bind every label of ``specs`` to one size; name the first key that disagrees."""
    bound: dict[str, tuple[int, str]] = {}
    for e in entries:
        labels = specs[e.name].split()
        shape = params[e.name].shape
        file_shape = shape[::-1] if e.transposed else shape
        if len(shape) != len(labels):
            raise InputFileError(
                f"weights: {e.key!r} has shape {file_shape}, expected {len(labels)} axes"
            )
        if 0 in shape:  # nothing to check, and d = 0 would divide by zero in the reference
            raise InputFileError(f"weights: {e.key!r} has shape {file_shape}: an axis of size 0")
        for label, size in zip(labels, shape, strict=True):
            if label not in bound:
                bound[label] = (int(size), e.key)
                continue
            want, source = bound[label]
            if size != want:
                expected = tuple(bound.get(lab, (s, ""))[0] for lab, s in zip(labels, shape,
                                                                               strict=True))
                if e.transposed:
                    expected = expected[::-1]
                raise InputFileError(
                    f"weights: {e.key!r} has shape {file_shape}, expected {expected}: its "
                    f"{_AXIS_NAMES[label]} axis has size {size} but {source!r} gives "
                    f"{label}={want}"
                )


_AXIS_NAMES = {"d": "embedding (d)", "k": "query/key (k)", "v": "value (v)",
               "f": "feed-forward (f)", "c": "key/value (c)"}
