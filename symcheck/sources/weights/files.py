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
    """What a ``config.json`` beside the weights says (HuggingFace names).

    The names differ between model families; each field lists the keys it is read from, first
    found wins: heads (:data:`HEAD_KEYS`), ``hidden_size``/``d_model``/``n_embd``, the norm's
    epsilon ``layer_norm_eps``/``rms_norm_eps``/``layer_norm_epsilon``, the activation
    ``hidden_act``/``activation``/``activation_function``, the key/value heads of grouped-query
    attention ``num_key_value_heads``, and the RoPE base ``rope_theta`` (at the top level, or
    in ``rope_parameters``/``rope_scaling`` as transformers 5 writes it).
    """

    path: Path | None
    heads: int | None = None
    hidden_size: int | None = None
    layer_norm_eps: float | None = None
    hidden_act: str | None = None
    norm_first: bool = False
    kv_heads: int | None = None
    rope_theta: float | None = None
    #: the config's ``model_type`` ("llama", "gpt2", …), for messages only
    model_type: str | None = None
    #: GPT-2: ``scale_attn_weights`` (scores divided by √head_dim) and
    #: ``scale_attn_by_inverse_layer_idx`` (further divided by the layer index + 1)
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    #: Mistral/Qwen2: token i attends to the ``sliding_window`` tokens up to itself, in every
    #: layer, or (``layer_types``) in the layers marked "sliding_attention"
    sliding_window: int | None = None
    layer_types: tuple[str, ...] | None = None


#: config.json keys of the norm's epsilon, the activation and the hidden size, in order
EPS_KEYS = ("layer_norm_eps", "rms_norm_eps", "layer_norm_epsilon")
ACT_KEYS = ("hidden_act", "activation", "activation_function")
HIDDEN_KEYS = ("hidden_size", "d_model", "n_embd")
#: RoPE variants whose frequencies are not the plain ``base^(-2i/dim)`` (not modelled)
_ROPE_PLAIN = ("default", None)


def read_config(weights: Path) -> Config:
    """``config.json`` in the folder of ``weights``, if there is one."""
    path = weights.parent / "config.json"
    if not path.is_file():
        return Config(None)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"config: cannot read {str(path)!r} as JSON: {exc}") from None
    except RecursionError:
        raise InputFileError(f"config: {str(path)!r} is nested too deeply to read") from None
    if not isinstance(data, dict):
        raise InputFileError(f"config: {str(path)!r} is not a JSON object")
    heads = next((data[k] for k in HEAD_KEYS if k in data), None)
    if heads is not None and not _positive_int(heads):
        raise InputFileError(f"config: {str(path)!r}: number of heads {heads!r} is not a positive "
                             "integer")
    hidden = next((data[k] for k in HIDDEN_KEYS if k in data), None)
    if hidden is not None and not _positive_int(hidden):
        raise InputFileError(f"config: {str(path)!r}: hidden_size {hidden!r} is not a positive "
                             "integer")
    eps_key = next((k for k in EPS_KEYS if k in data), "layer_norm_eps")
    eps = data.get(eps_key)
    # JSON allows Infinity and NaN; true is an int to Python. None of them is an epsilon.
    if eps is not None and not _finite(eps, 0):
        raise InputFileError(f"config: {str(path)!r}: {eps_key} {eps!r} is not a finite "
                             "number ≥ 0")
    act_key = next((k for k in ACT_KEYS if k in data), "hidden_act")
    act = data.get(act_key)
    if act is not None and not isinstance(act, str):
        raise InputFileError(f"config: {str(path)!r}: {act_key} {act!r} is not a name such as "
                             "'gelu'")
    norm_first = data.get("norm_first", False)
    if not isinstance(norm_first, bool):
        raise InputFileError(f"config: {str(path)!r}: norm_first {norm_first!r} is not true/false")
    kv_heads = data.get("num_key_value_heads")
    if kv_heads is not None and not _positive_int(kv_heads):
        raise InputFileError(f"config: {str(path)!r}: num_key_value_heads {kv_heads!r} is not a "
                             "positive integer")
    flags = {}
    for key, default in (("scale_attn_weights", True), ("scale_attn_by_inverse_layer_idx", False)):
        flags[key] = data.get(key, default)
        if not isinstance(flags[key], bool):
            raise InputFileError(f"config: {str(path)!r}: {key} {flags[key]!r} is not true/false")
    model_type = data.get("model_type")
    window, types = _sliding_window(data, path)
    return Config(path, heads, hidden, None if eps is None else float(eps), act, norm_first,
                  kv_heads, _rope_theta(data, path),
                  model_type if isinstance(model_type, str) else None, **flags,
                  sliding_window=window, layer_types=types)


def _sliding_window(data: Mapping[str, Any], path: Path
                    ) -> tuple[int | None, tuple[str, ...] | None]:
    """``sliding_window`` (None when absent, null or ``use_sliding_window`` is false) and the
    per-layer ``layer_types`` transformers 5 writes."""
    window = data.get("sliding_window")
    if window is None or data.get("use_sliding_window") is False:
        return None, None
    if not _positive_int(window):
        raise InputFileError(f"config: {str(path)!r}: sliding_window {window!r} is not a "
                             "positive integer")
    types = data.get("layer_types")
    if types is None:
        return int(window), None
    if not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
        raise InputFileError(f"config: {str(path)!r}: layer_types {types!r} is not a list of "
                             "names")
    return int(window), tuple(types)


def _rope_theta(data: Mapping[str, Any], path: Path) -> float | None:
    """The RoPE base: ``rope_theta`` at the top level (transformers 4) or inside
    ``rope_parameters`` (transformers 5); a scaled RoPE (``rope_type`` "llama3", "yarn", …)
    is refused rather than checked with the wrong frequencies."""
    nested: Mapping[str, Any] = next((data[k] for k in ("rope_parameters", "rope_scaling")
                   if isinstance(data.get(k), dict)), {})
    rope_type = nested.get("rope_type", nested.get("type"))
    if rope_type not in _ROPE_PLAIN:
        raise InputFileError(
            f"config: {str(path)!r}: rope_type {rope_type!r} is not supported (only the plain "
            "RoPE, rope_type 'default', is modelled)"
        )
    theta = nested.get("rope_theta", data.get("rope_theta"))
    if theta is None:
        return None
    if not _finite(theta, 0) or theta <= 0:
        raise InputFileError(f"config: {str(path)!r}: rope_theta {theta!r} is not a finite "
                             "number > 0")
    return float(theta)


def _finite(value: object, low: float) -> bool:
    """A number (never a bool) from ``low`` up, that a float can hold (JSON's ``1e400`` is
    ``Infinity``; an integer of 400 digits is no float at all)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return low <= float(value) < float("inf")
    except OverflowError:
        return False


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
