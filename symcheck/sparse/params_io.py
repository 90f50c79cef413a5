"""Saving and loading the parameters that prove a claim: ``X``, ``W_Q``, ``W_K`` (+ metadata).

The ``.npz`` holds exactly the arrays ``X``, ``W_Q``, ``W_K`` and ``metadata`` (a JSON string
stored as a unicode array, so reading it never needs pickle). Anyone can check a claim with
numpy alone::

    p = np.load("out.npz")
    logits = p["X"] @ p["W_Q"] @ (p["X"] @ p["W_K"]).T
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from symcheck.core.errors import InputFileError
from symcheck.core.files import read_npz, save_npz

PARAM_NAMES = ("X", "W_Q", "W_K")


def save_params(
    path: str, params: tuple[np.ndarray, np.ndarray, np.ndarray], metadata: dict[str, Any]
) -> None:
    """Write the parameters atomically (no partial file on failure)."""
    text = json.dumps(metadata, default=_plain, allow_nan=False)
    arrays = dict(zip(PARAM_NAMES, params, strict=True))
    arrays["metadata"] = np.array(text)
    save_npz(path, arrays, "save")


def load_params(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Read ``X, W_Q, W_K`` and the metadata from ``path`` without unpickling anything."""
    files = read_npz(path, "verify")
    missing = [n for n in PARAM_NAMES if n not in files]
    if missing:
        raise InputFileError(f"missing array(s) {', '.join(missing)}; expected X, W_Q, W_K",
                             argument="verify", subject=repr(path))
    x, w_q, w_k = (np.asarray(files[n]) for n in PARAM_NAMES)
    meta: dict[str, Any] = {}
    raw = files.get("metadata")
    if raw is not None and raw.dtype.kind == "U" and raw.ndim == 0:
        try:
            loaded = json.loads(str(raw))
            meta = loaded if isinstance(loaded, dict) else {}
        except json.JSONDecodeError:
            meta = {}
    return x, w_q, w_k, meta


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"cannot store {type(value).__name__} in metadata")
