"""Generate the sparse-approx samples (deterministic: fixed seeds). Run from the repo root:

    python samples/sparse/make_samples.py

Writes, next to this script:
- ``band.npy``        sliding-window band, L = 64, |i − j| ≤ 2, equal weights (dense .npy);
- ``random_k4.npz``   4 random nonzeros per row, L = 128, values in [0.5, 1.5] (scipy csr .npz);
- ``bigbird.mtx``     block-sparse local blocks of 8 + 2 global tokens + 1 random block per
  row block, L = 64 (Matrix Market);
- ``permutation.npy`` a random permutation matrix, L = 64.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent


def band(size: int = 64, width: int = 2) -> np.ndarray:
    i, j = np.indices((size, size))
    return (np.abs(i - j) <= width).astype(np.float64)


def random_k(size: int = 128, k: int = 4, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    cols = np.stack([rng.choice(size, k, replace=False) for _ in range(size)])
    rows = np.repeat(np.arange(size), k)
    vals = rng.uniform(0.5, 1.5, size * k)
    return sp.csr_matrix((vals, (rows, cols.ravel())), shape=(size, size))


def bigbird(size: int = 64, block: int = 8, n_global: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.zeros((size, size))
    blocks = size // block
    for b in range(blocks):
        rows = slice(b * block, (b + 1) * block)
        a[rows, rows] = 1.0  # local block
        r = int(rng.integers(blocks))
        a[rows, r * block : (r + 1) * block] = 1.0  # one random block
    a[:, :n_global] = 1.0  # every token attends to the global tokens
    a[:n_global, :] = 1.0  # global tokens attend to everything
    return a


def permutation(size: int = 64, seed: int = 0) -> np.ndarray:
    return np.eye(size)[np.random.default_rng(seed).permutation(size)]


def main() -> None:
    np.save(HERE / "band.npy", band())
    sp.save_npz(HERE / "random_k4.npz", random_k(), compressed=False)
    scipy.io.mmwrite(HERE / "bigbird.mtx", sp.coo_matrix(bigbird()), field="real")
    np.save(HERE / "permutation.npy", permutation())


if __name__ == "__main__":
    main()
