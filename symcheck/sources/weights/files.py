"""Reading saved weights: ``.npz``, ``.safetensors`` and ``.pt`` files, and ``config.json``.

Every reader returns a flat ``{key: numpy array}`` dict and never runs code from the file:
``.npz`` is read with ``allow_pickle=False``, ``.pt`` with ``torch.load(weights_only=True)``
(a file that needs arbitrary objects unpickled is refused), ``.safetensors`` holds raw
tensors only. The readers are registered by suffix in
:data:`symcheck.sources.python.WEIGHT_LOADERS`.

>>> tensors = load_weights(Path("samples/weights/bert/model.safetensors"))  # doctest: +SKIP
>>> tensors["encoder.layer.0.attention.self.query.weight"].shape             # doctest: +SKIP
(16, 16)
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from symcheck.core.errors import InputFileError, MissingExtraError

Array = np.ndarray
Tensors = dict[str, Array]

#: keys of a config.json that give the number of heads, in order of preference
HEAD_KEYS = ("num_attention_heads", "num_heads", "n_head", "nhead")


def load_weights(path: Path) -> Tensors:
    """Read ``path`` with the loader registered for its suffix."""
    from symcheck.sources.python import WEIGHT_LOADERS

    if not path.is_file():
        raise InputFileError(f"weights: file {str(path)!r} does not exist")
    entry = WEIGHT_LOADERS.get(path.suffix.lower())
    if entry is None:
        raise InputFileError(
            f"weights: {str(path)!r} has suffix {path.suffix!r}; weight files are one of "
            f"{', '.join(sorted(WEIGHT_LOADERS))}"
        )
    module, _, function = entry.partition(":")
    tensors: Tensors = getattr(importlib.import_module(module), function)(path)
    if not tensors:
        raise InputFileError(f"weights: {str(path)!r} holds no arrays")
    return tensors


def load_npz(path: Path) -> Tensors:
    """An ``.npz`` archive (``np.savez``); object arrays are refused, not unpickled."""
    from symcheck.core.files import read_npz

    return read_npz(path, "weights")


def load_safetensors(path: Path) -> Tensors:
    """A ``.safetensors`` file, read through ``safetensors.numpy`` (no torch needed)."""
    try:
        from safetensors.numpy import load_file
    except ModuleNotFoundError:
        raise MissingExtraError(
            "safetensors", "safetensors", f"reading {str(path)!r}"
        ) from None
    try:
        return dict(load_file(str(path)))
    except Exception as exc:  # safetensors raises its own SafetensorError and TypeError
        raise InputFileError(
            f"weights: cannot read {str(path)!r} as .safetensors: {type(exc).__name__}: "
            f"{_first_line(exc)}"
        ) from None


def load_pt(path: Path) -> Tensors:
    """A ``torch.save`` file of a state dict, loaded with ``weights_only=True``.

    Nested dicts (``{"state_dict": {...}}``, as training checkpoints save them) are flattened
    with dots; entries that are not tensors (epoch counters, names) are dropped.
    """
    try:
        import torch
    except ModuleNotFoundError:
        raise MissingExtraError("torch", "torch", f"reading {str(path)!r}") from None
    import pickle

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        if found is None:
            raise InputFileError(
                f"weights: cannot read {str(path)!r} as a torch file: {_first_line(exc)}"
            ) from None
        raise InputFileError(
            f"weights: {str(path)!r} needs arbitrary Python objects unpickled "
            f"({found.group(1)}); symcheck loads .pt files with weights_only=True and runs no "
            "code from them: save model.state_dict() instead of the model"
        ) from None
    except (RuntimeError, OSError, EOFError) as exc:
        raise InputFileError(
            f"weights: cannot read {str(path)!r} as a torch file: {_first_line(exc)}"
        ) from None
    if isinstance(obj, torch.Tensor):
        raise InputFileError(
            f"weights: {str(path)!r} holds a single tensor, not a state dict of named weights"
        )
    if not isinstance(obj, Mapping):
        raise InputFileError(
            f"weights: {str(path)!r} holds a {type(obj).__name__}, not a state dict"
        )
    out: Tensors = {}
    _flatten(torch, obj, "", out)
    return out


def _flatten(torch: Any, obj: Mapping[str, Any], prefix: str, out: Tensors) -> None:
    from symcheck.backends.torch_backend import to_numpy

    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            out[name] = to_numpy(torch, value)
        elif isinstance(value, Mapping):
            _flatten(torch, value, f"{name}.", out)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@dataclass(frozen=True)
class Config:
    """What a ``config.json`` beside the weights says (HuggingFace names)."""

    path: Path | None
    heads: int | None = None
    hidden_size: int | None = None
    layer_norm_eps: float | None = None
    hidden_act: str | None = None
    norm_first: bool = False


def read_config(weights: Path) -> Config:
    """``config.json`` in the folder of ``weights``, if there is one."""
    path = weights.parent / "config.json"
    if not path.is_file():
        return Config(None)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"config: cannot read {str(path)!r} as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputFileError(f"config: {str(path)!r} is not a JSON object")
    heads = next((data[k] for k in HEAD_KEYS if k in data), None)
    if heads is not None and not _positive_int(heads):
        raise InputFileError(f"config: {str(path)!r}: number of heads {heads!r} is not a positive "
                             "integer")
    hidden = data.get("hidden_size", data.get("d_model"))
    if hidden is not None and not _positive_int(hidden):
        raise InputFileError(f"config: {str(path)!r}: hidden_size {hidden!r} is not a positive "
                             "integer")
    eps = data.get("layer_norm_eps")
    # JSON allows Infinity and NaN; true is an int to Python. None of them is an epsilon.
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, int | float)
                            or not (0 <= eps < float("inf"))):
        raise InputFileError(f"config: {str(path)!r}: layer_norm_eps {eps!r} is not a finite "
                             "number ≥ 0")
    act = data.get("hidden_act", data.get("activation"))
    if act is not None and not isinstance(act, str):
        raise InputFileError(f"config: {str(path)!r}: hidden_act {act!r} is not a name such as "
                             "'gelu'")
    norm_first = data.get("norm_first", False)
    if not isinstance(norm_first, bool):
        raise InputFileError(f"config: {str(path)!r}: norm_first {norm_first!r} is not true/false")
    return Config(path, heads, hidden, None if eps is None else float(eps), act, norm_first)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
