"""Reference forward passes in numpy, in PyTorch's conventions (rows are tokens).

These are the functions symcheck checks for saved weights. They are tested against the
frameworks' own forwards on the same weights (``nn.MultiheadAttention`` and a BERT-style layer
written in torch) to 1e-10 in float64. Parameters come as a dict of canonical names (see
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

import numpy as np
from scipy.special import erf

from symcheck.core.errors import SpecError

Array = np.ndarray
Params = Mapping[str, Array]


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


def linear(x: Array, w: Array, b: Array) -> Array:
    """PyTorch ``Linear``: ``w`` is ``(out, in)``, ``y = x wᵀ + b``."""
    return x @ w.T + b


def softmax(s: Array) -> Array:
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def self_attention(x: Array, p: Params, heads: int) -> Array:
    """Multi-head scaled dot-product attention without the output projection: ``(n, v)``."""
    n = x.shape[0]

    def split(y: Array) -> Array:  # (n, h·c) -> (h, n, c)
        return y.reshape(n, heads, -1).transpose(1, 0, 2)

    q = split(linear(x, p["q.weight"], p["q.bias"]))
    k = split(linear(x, p["k.weight"], p["k.bias"]))
    v = split(linear(x, p["v.weight"], p["v.bias"]))
    # a Python float keeps float32 inputs in float32 (a numpy float64 scalar would promote)
    scores = (q @ k.transpose(0, 2, 1)) * (1.0 / math.sqrt(q.shape[-1]))
    return (softmax(scores) @ v).transpose(1, 0, 2).reshape(n, -1)


def attention(x: Array, p: Params, heads: int) -> Array:
    """``nn.MultiheadAttention(x, x, x)`` / BERT self-attention with its output dense layer."""
    return linear(self_attention(x, p, heads), p["o.weight"], p["o.bias"])


def layer_norm(x: Array, gain: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * gain + bias


def feed_forward(x: Array, p: Params, act: str) -> Array:
    return linear(activation(act)(linear(x, p["ff1.weight"], p["ff1.bias"])),
                  p["ff2.weight"], p["ff2.bias"])


def block(x: Array, p: Params, heads: int, eps: float, act: str,
          norm_first: bool = False) -> Array:
    """An encoder layer. Post-LayerNorm (BERT, torch's default): ``LN(x + f(x))`` after the
    attention and the feed-forward; pre-LayerNorm (``norm_first``): ``x + f(LN(x))``."""
    if norm_first:
        h = x + attention(layer_norm(x, p["ln1.weight"], p["ln1.bias"], eps), p, heads)
        if "ff1.weight" in p:
            h = h + feed_forward(layer_norm(h, p["ln2.weight"], p["ln2.bias"], eps), p, act)
        return h
    h = attention(x, p, heads)
    h = layer_norm(h + x, p["ln1.weight"], p["ln1.bias"], eps)
    if "ff1.weight" in p:
        h = layer_norm(feed_forward(h, p, act) + h, p["ln2.weight"], p["ln2.bias"], eps)
    return h
