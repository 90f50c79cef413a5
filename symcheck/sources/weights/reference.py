"""Reference forward passes in numpy, in PyTorch's conventions (rows are tokens).

These are the functions symcheck checks for saved weights. They are tested against the
frameworks' own forwards on the same weights (``nn.MultiheadAttention``, a BERT-style layer
written in torch, ``nn.TransformerEncoderLayer``, transformers' ``LlamaDecoderLayer`` and
``GPT2Block``) to 1e-10 in float64. Every function accepts leading batch axes (``(…, n, d)``)
and runs all heads in batched matmuls. Parameters come as a dict of canonical names (see
:mod:`symcheck.sources.weights.layouts`); every function computes in the dtype of its inputs.

>>> import numpy as np
>>> x = np.ones((3, 2))
>>> layer_norm(x, np.ones(2), np.zeros(2), 1e-12)
array([[0., 0.],
       [0., 0.],
       [0., 0.]])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import erf

from symcheck.core.errors import SpecError

if TYPE_CHECKING:
    from symcheck.sources.weights.layouts import Layer

Array = np.ndarray
Params = Mapping[str, Any]  # canonical name -> array (or a Framed weight)


def _gelu(x: Array) -> Array:
    return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def _gelu_tanh(x: Array) -> Array:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


#: config.json ``hidden_act`` -> activation (HuggingFace names)
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "gelu": _gelu,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "relu": lambda x: np.maximum(x, 0),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "swish": lambda x: x / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
}


def activation(name: str) -> Callable[[Array], Array]:
    if name not in ACTIVATIONS:
        raise SpecError(
            f"config: hidden_act {name!r} is not one of {', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]


@dataclass(frozen=True)
class Framed:
    """A weight co-transformed through a turned frame, applied without forming it.

    The check turns the embedding by ``Q``: a weight ``W`` (``(out, in)``) whose input axis
    lives in the embedding becomes ``W Qᵀ``, one whose output axis does becomes ``Q W``. With
    the frame ``F = I`` turned by the engine like any embedding-space array, ``F' = Qᵀ`` (one
    per case, stacked on leading axes), and the turned weights are ``W F'`` and ``F'ᵀ W``.
    Applying them reassociates the product: ``x (W F')ᵀ = (x F'ᵀ) Wᵀ`` and
    ``x (F'ᵀ W)ᵀ = (x Wᵀ) F'``: the same function, for ``n·d²`` work per case instead of
    ``out·in·d`` to turn every weight (d = 384: 1.4 GFLOP per case for a BERT block's weights).
    """

    weight: Array  # (out, in), as stored
    frame: Array  # (…, d, d): the turned identity, one per case
    embedding_in: bool  # the input axis lives in the embedding (else the output axis)

    def apply(self, x: Array) -> Array:
        if self.embedding_in:
            return (x @ np.swapaxes(self.frame, -1, -2)) @ self.weight.T
        return (x @ self.weight.T) @ self.frame


def linear(x: Array, w: Array | Framed, b: Array | None = None) -> Array:
    """PyTorch ``Linear``: ``w`` is ``(out, in)``, ``y = x wᵀ + b`` (``w`` may be
    :class:`Framed`)."""
    y = w.apply(x) if isinstance(w, Framed) else x @ w.T
    return y if b is None else y + b


def softmax(s: Array) -> Array:
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def _heads(y: Array, heads: int) -> Array:
    """``(…, n, h·c) -> (…, h, n, c)``."""
    return np.swapaxes(y.reshape(*y.shape[:-1], heads, -1), -2, -3)


def rope(y: Array, theta: float) -> Array:
    """Rotary position embedding in head space, as transformers' Llama applies it.

    ``y`` is ``(…, n, c)`` (one head's queries or keys, c even); token ``t`` has its pairs
    ``(y_i, y_{i+c/2})`` turned by the angle ``t · theta^(-2i/c)`` ("rotate half"). It acts
    after the projections, on head coordinates, so a rotation of the embedding space (with the
    projections co-transformed) never meets it; it ties each score to the positions, so it
    breaks S(n). Computed in float64 whatever the dtype of ``y``, then cast to it.
    """
    n, c = y.shape[-2], y.shape[-1]
    if c % 2:
        raise SpecError(f"rotary embeddings need an even head width, got {c}",
                        argument="rope_theta", value=theta)
    inv = 1.0 / theta ** (np.arange(0, c, 2, dtype=np.float64) / c)
    angles = np.arange(n, dtype=np.float64)[:, None] * inv[None, :]
    angles = np.concatenate([angles, angles], axis=-1)
    cos, sin = np.cos(angles).astype(y.dtype), np.sin(angles).astype(y.dtype)
    half = c // 2
    rotated = np.concatenate([-y[..., half:], y[..., :half]], axis=-1)
    return y * cos + rotated * sin


def self_attention(x: Array, p: Params, heads: int, *, kv_heads: int | None = None,
                   causal: bool = False, rope_theta: float | None = None,
                   scale: float | None = None, window: int | None = None) -> Array:
    """Multi-head scaled dot-product attention without the output projection: ``(…, n, v)``.

    All heads at once (batched matmuls; any leading axes are batch axes). With ``kv_heads``
    fewer than ``heads`` (grouped-query attention) query head ``i`` reads key/value head
    ``i // (heads / kv_heads)``, as transformers' ``repeat_kv`` does, here by broadcasting
    instead of copying. ``causal``: token i attends to j ≤ i. ``rope_theta``: rotary
    embeddings on q and k. ``scale`` defaults to ``1/√head_dim``. ``window`` (with
    ``causal``): token i attends to j with i − window < j ≤ i (Mistral's sliding window).
    """
    kv = heads if kv_heads is None else kv_heads
    q = _heads(linear(x, p["q.weight"], p.get("q.bias")), heads)  # (…, h, n, c)
    k = _heads(linear(x, p["k.weight"], p.get("k.bias")), kv)  # (…, kv, n, c)
    v = _heads(linear(x, p["v.weight"], p.get("v.bias")), kv)
    if rope_theta is not None:
        q, k = rope(q, rope_theta), rope(k, rope_theta)
    n, c = q.shape[-2], q.shape[-1]
    if kv != heads:  # (…, kv, g, n, c) queries against (…, kv, 1, n, c) keys
        q = q.reshape(*q.shape[:-3], kv, heads // kv, n, c)
        k, v = k[..., None, :, :], v[..., None, :, :]
    # a Python float keeps float32 inputs in float32 (a numpy float64 scalar would promote)
    factor = 1.0 / math.sqrt(c) if scale is None else float(scale)
    scores = (q @ np.swapaxes(k, -1, -2)) * factor
    if causal:
        seen = np.tri(n, dtype=bool)
        if window is not None and window < n:  # a window as long as the sequence hides nothing
            seen &= ~np.tri(n, k=-window, dtype=bool)
        scores = np.where(seen, scores, -np.inf)
    out = softmax(scores) @ v
    if kv != heads:
        out = out.reshape(*out.shape[:-4], heads, n, out.shape[-1])
    out = np.swapaxes(out, -2, -3)  # (…, n, h, c)
    return out.reshape(*out.shape[:-2], -1)


def attention(x: Array, p: Params, heads: int, seen: dict[str, Array] | None = None,
              **options: Any) -> Array:
    """``nn.MultiheadAttention(x, x, x)`` / BERT self-attention with its output dense layer
    (``options``: those of :func:`self_attention`). ``seen``, when given, receives the input
    of each part as computed: ``"self"`` (``x``) and ``"out"`` (the heads' output)."""
    heads_out = self_attention(x, p, heads, **options)
    if seen is not None:
        seen |= {"self": x, "out": heads_out}
    return linear(heads_out, p["o.weight"], p.get("o.bias"))


def layer_norm(x: Array, gain: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * gain + bias


def rms_norm(x: Array, gain: Array | None, eps: float) -> Array:
    """RMSNorm ``x / √(mean(x²) + eps) · gain``, in the dtype of ``x`` (transformers'
    ``LlamaRMSNorm`` computes it in float32 whatever the dtype). Without a gain it commutes
    with every rotation of the embedding: ``mean(x²)`` is ``‖x‖²/d``."""
    y = x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)
    return y if gain is None else y * gain


def norm(x: Array, p: Params, name: str, kind: str, eps: float) -> Array:
    """The norm ``name`` ("ln1", "ln2") of a layer: LayerNorm (``kind="layer"``) or RMSNorm
    (``"rms"``), with whichever of its gain and bias the parameters hold (none once folded)."""
    gain, bias = p.get(f"{name}.weight"), p.get(f"{name}.bias")
    if kind == "rms":
        y = rms_norm(x, gain, eps)
        return y if bias is None else y + bias
    if gain is not None and bias is not None:
        return layer_norm(x, gain, bias, eps)
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    y = centred / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    if gain is not None:
        y = y * gain
    return y if bias is None else y + bias


def feed_forward(x: Array, p: Params, act: str) -> Array:
    """``ff2(act(ff1 x))``, or the gated ``ff2(act(gate x) ⊙ ff1 x)`` (SwiGLU) when the
    parameters have a gate."""
    f = activation(act)
    if "gate.weight" in p:
        hidden = f(linear(x, p["gate.weight"], p.get("gate.bias"))) * linear(
            x, p["ff1.weight"], p.get("ff1.bias"))
    else:
        hidden = f(linear(x, p["ff1.weight"], p.get("ff1.bias")))
    return linear(hidden, p["ff2.weight"], p.get("ff2.bias"))


def block(x: Array, p: Params, heads: int, eps: float, act: str,
          norm_first: bool = False, *, norm_kind: str = "layer",
          norms: tuple[str, ...] = ("ln1", "ln2"), seen: dict[str, Array] | None = None,
          **options: Any) -> Array:
    """An encoder or decoder layer. Post-norm (BERT, torch's default): ``N(x + f(x))`` after the
    attention and the feed-forward; pre-norm (``norm_first``: GPT-2, Llama): ``x + f(N(x))``.
    ``norm_kind`` is "layer" or "rms"; ``norms`` the norms the layer applies; ``options`` go to
    :func:`self_attention` (key/value heads, causal, rope, scale). ``seen``, when given,
    receives the input of each part as the block computes it (``"self"``, ``"out"``,
    ``"ln1"``, ``"ffn"``, ``"ln2"``: see :func:`attention`)."""
    record = seen if seen is not None else {}

    def n(h: Array, name: str) -> Array:
        record[name] = h
        return norm(h, p, name, norm_kind, eps) if name in norms else h

    def ffn(h: Array) -> Array:
        record["ffn"] = h
        return feed_forward(h, p, act)

    if norm_first:
        h = x + attention(n(x, "ln1"), p, heads, record, **options)
        if "ff1.weight" in p:
            h = h + ffn(n(h, "ln2"))
        return h
    h = attention(x, p, heads, record, **options)
    h = n(h + x, "ln1")
    if "ff1.weight" in p:
        h = n(ffn(h) + h, "ln2")
    return h


def layer_forward(layer: Layer, params: Params | None = None) -> Callable[[Array], Array]:
    """The whole layer (its block, or its attention when it has no norms) as ``x -> y``;
    ``params`` replace the layer's own (e.g. folded ones)."""
    p = layer.params if params is None else params
    if "block" not in layer.components:
        return lambda x: attention(x, p, layer.heads, **layer.attention_options)
    return lambda x: block(x, p, layer.heads, layer.eps, layer.activation, layer.norm_first,
                           norm_kind=layer.norm, norms=layer.norms, **layer.attention_options)
