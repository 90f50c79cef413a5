"""Inputs a user supplies from a file: an ``.npz`` of arrays, matched to the model's parameters.

>>> import inspect
>>> list(inspect.signature(load_inputs).parameters)
['path', 'obj', 'count']
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from symcheck.core.errors import InputFileError
from symcheck.core.files import read_npz


def load_inputs(path: Path, obj: Any, count: int) -> list[Any]:
    """Arrays from an .npz: by the callable's parameter names if all are present, else in order."""
    arrays = read_npz(path, "data")
    try:
        params = list(inspect.signature(obj).parameters)[:count]
    except (TypeError, ValueError):
        params = []
    keys = params if params and all(p in arrays for p in params) else list(arrays)
    if len(keys) < count:
        raise InputFileError(
            f"{str(path)!r} holds {len(arrays)} arrays ({', '.join(arrays)}) but the model "
            f"takes {count} inputs", argument="data", value=str(path),
        )
    for k in keys[:count]:
        if arrays[k].dtype.kind not in "fiu":
            raise InputFileError(f"array {k!r} has dtype {arrays[k].dtype}, not numeric",
                                 argument="data", value=str(path))
    return [arrays[k] for k in keys[:count]]
