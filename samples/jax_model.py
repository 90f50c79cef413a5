"""A jitted JAX attention function, checked as it is.

    symcheck equivariance samples/jax_model.py                  # O(d), S(n): exit 0
    symcheck equivariance samples/jax_model.py --dtype float32

``gram_attention`` uses no weights: its scores are inner products of the tokens, so turning
every token by the same orthogonal Q leaves them unchanged and the output turns with Q
(Ma & Ying's ``X·g(Gram)`` form). symcheck switches on jax's 64-bit mode before the first call,
so the float64 check really runs in float64.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import symcheck


def _gram_attention(x: jax.Array) -> jax.Array:
    scores = x @ x.T / jnp.sqrt(x.shape[-1])
    return jax.nn.softmax(scores, axis=-1) @ x


gram_attention = symcheck.equivariant(
    inputs=["n d"], output="n d", groups=["O(d)", "S(n)"], sizes={"n": 8, "d": 16}
)(jax.jit(_gram_attention))
