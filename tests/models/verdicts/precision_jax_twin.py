"""A jitted jax model whose float64 twin collides with its 32-bit constants, at float32.

``attend`` closes over ``OFFSET``, an int32 array made at import in jax's default 32-bit mode,
and adds it to a fresh ``arange`` with ``lax.add`` (which does not promote). In the float64
twin (64-bit mode on for the call) the ``arange`` is int64 and jax raises ("lax.add requires
arguments to have the same dtypes, got int64, int32"), as emlp's networks do. The check at
``--dtype float32`` runs the model in the user's own 32-bit mode throughout, notes that the
twin could not run, and judges with float32's floor. Softmax attention without positions:
S(n)-equivariant. Expected at float32: PASS, exit 0 (with the note).
"""

import jax
import jax.numpy as jnp

import symcheck

OFFSET = jnp.arange(64)  # int32: made in 32-bit mode


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 6, "d": 8})
@jax.jit
def attend(x: jax.Array) -> jax.Array:
    n = x.shape[0]
    positions = jax.lax.add(jnp.arange(n), OFFSET[:n])  # no promotion: int32 + int32 only
    weights = jax.nn.softmax(x @ x.T / jnp.sqrt(x.shape[-1]).astype(x.dtype), axis=-1)
    return weights @ x + 0 * positions.sum().astype(x.dtype)
