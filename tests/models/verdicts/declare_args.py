"""A ``(*args, **kwargs)`` wrapper (as around PyG's dense layers) given its inputs from a file.

The wrapper forwards its arguments by position to a dense graph convolution ``adj @ x @ W``
(S(n)-equivariant: ``x`` is ``n d``, ``adj`` is ``n n``). It has no parameter names, so the
inputs are declared ``x=n d`` and ``adj=n n``: the names pick the arrays of the ``--inputs``
file (``declare_args_inputs.npz``), and the arrays are passed in that order. Expected: exit 0.

``edges`` returns the graph's edge list ``(e, 2)``, the rows ``(i, j)`` with ``adj[i, j] > 0``
in the order the model finds them: declared ``e:set two:index(n)`` (positions along n, rows
an unordered set) it passes S(n) (exit 0).
"""

import numpy as np

import symcheck

W = np.random.default_rng(3).standard_normal((4, 4))


def _dense_conv(x: np.ndarray, adj: np.ndarray, /) -> np.ndarray:
    return np.tanh(adj @ x @ W)


@symcheck.equivariant(inputs=["x=n d", "adj=n n"], output="n d", groups=["S(n)"])
def wrapped(*args: np.ndarray, **kwargs: object) -> np.ndarray:
    return _dense_conv(*args)


@symcheck.equivariant(inputs=["x=n d", "adj=n n"], output="e:set two:index(n)", groups=["S(n)"])
def edges(*args: np.ndarray, **kwargs: object) -> np.ndarray:
    _, adj = args
    return np.argwhere(adj > 0)
