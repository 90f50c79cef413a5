"""Controls for the attention form: layers that are not attention.

- ``coordinate_mlp``: a scalar MLP applied to every coordinate, u ↦ Σ_h a_h tanh(b_h u + c_h).
  Its weights have no embedding axis, so there is nothing to co-transform: O(d) fails, and
  the output leaves the span of the inputs.
- ``layernorm``: (x − mean(x)) / std(x) ⊙ γ + β per token. Mean-centering subtracts a multiple
  of the all-ones vector (a fixed direction) and the gain γ scales coordinates: O(d) fails
  even when γ and β turn with the embedding.
- ``layernorm_block``: a pre-LayerNorm attention block x + softmax-attention(LayerNorm(x)),
  the way transformers use it. The attention part alone would pass; the LayerNorm inside
  breaks O(d) for the whole block, fixed or turned.
- ``rmsnorm``: x / rms(x) without gain. O(d)-equivariant; coefficients diag(1/rms(x_i)):
  in the attention form, non-negative, but not a weighted average.
- ``token_mlp``: relu(x W_1) W_2ᵀ per token. With W_1, W_2 as knowledge it is O(d)-
  equivariant and in the form (outputs are combinations of W_2's columns with coefficients
  relu(⟨x, w_1⟩)): the form alone does not make a layer attention.

    symcheck form samples/kernels/controls.py:layernorm
"""

import numpy as np

import symcheck

D, H = 16, 4
SIZES = {"n": 4, "d": D}
_rng = np.random.default_rng(57)
A, B, C = (_rng.standard_normal(H) for _ in range(3))
GAIN = 1.0 + 0.1 * _rng.standard_normal(D)
BIAS = 0.1 * _rng.standard_normal(D)
W_Q = _rng.standard_normal((D, 2)) / np.sqrt(D)
W_K = _rng.standard_normal((D, 2)) / np.sqrt(D)
W_1 = _rng.standard_normal((D, H)) / np.sqrt(D)
W_2 = _rng.standard_normal((D, H)) / np.sqrt(H)


@symcheck.equivariant(inputs=["n d", "h", "h", "h"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={**SIZES, "h": H})
def coordinate_mlp(x: np.ndarray, a: np.ndarray = A, b: np.ndarray = B,
                   c: np.ndarray = C) -> np.ndarray:
    return np.tanh(x[..., None] * b + c) @ a


@symcheck.equivariant(inputs=["n d", "d", "d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes=SIZES)
def layernorm(x: np.ndarray, gain: np.ndarray = GAIN, bias: np.ndarray = BIAS) -> np.ndarray:
    centred = x - x.mean(axis=1, keepdims=True)
    return centred / np.sqrt((centred**2).mean(axis=1, keepdims=True) + 1e-5) * gain + bias


@symcheck.equivariant(inputs=["n d", "d", "d", "d k", "d k"], output="n d",
                      groups=["O(d)", "S(n)"], sizes={**SIZES, "k": 2})
def layernorm_block(x: np.ndarray, gain: np.ndarray = GAIN, bias: np.ndarray = BIAS,
                    wq: np.ndarray = W_Q, wk: np.ndarray = W_K) -> np.ndarray:
    h = layernorm(x, gain, bias)
    s = (h @ wq) @ (h @ wk).T / np.sqrt(wq.shape[1])
    w = np.exp(s - s.max(axis=1, keepdims=True))
    return x + (w / w.sum(axis=1, keepdims=True)) @ h


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"], sizes=SIZES)
def rmsnorm(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt((x**2).mean(axis=1, keepdims=True))


@symcheck.equivariant(inputs=["n d", "d h", "d h"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={**SIZES, "h": H})
def token_mlp(x: np.ndarray, w1: np.ndarray = W_1, w2: np.ndarray = W_2) -> np.ndarray:
    return np.maximum(x @ w1, 0.0) @ w2.T
