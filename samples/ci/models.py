"""A tiny project's models, gated in CI by ``symcheck check`` (see pyproject.toml here).

``attention`` is self-attention over a sequence and a knowledge set with no learned weights:
equivariant under rotations of the embedding (O(d)) and permutations of the tokens (S(n)).
``positional_attention`` adds a circular relative-position bias to the scores: still
equivariant under cyclic shifts (C(n)) but not under arbitrary permutations, so the check in
``broken.toml``, which claims S(n), fails on purpose::

    symcheck check                        # exit 0
    symcheck check --config broken.toml   # exit 1: S(n) is broken
"""

import numpy as np


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    z = np.concatenate([x, k])  # tokens and knowledge, (n + m) × d
    return softmax(x @ z.T / np.sqrt(x.shape[-1])) @ z


def positional_attention(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    offset = (np.arange(n)[:, None] - np.arange(n)[None, :]) % n
    bias = np.cos(2 * np.pi * offset / n)  # depends on i − j mod n only
    return softmax(x @ x.T / np.sqrt(x.shape[-1]) + bias) @ x
