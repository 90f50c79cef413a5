"""JSON reports: strict JSON (NaN and Inf become strings), written atomically or to stdout.

>>> import io, contextlib
>>> buffer = io.StringIO()
>>> with contextlib.redirect_stdout(buffer):
...     write_json("-", {"error": float("nan"), "n": 3})
>>> buffer.getvalue().split()
['{', '"error":', '"nan",', '"n":', '3', '}']
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from typing import IO, Any

from symcheck.core.errors import say
from symcheck.core.files import atomic_write
from symcheck.report import write_text


def write_json(path: str, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as JSON to ``path`` atomically, or to stdout when ``path`` is ``-``."""
    text = json.dumps(_finite(payload), indent=2, allow_nan=False, default=_jsonable)
    if path == "-":
        write_text(sys.stdout, text + "\n")
        return
    atomic_write(path, lambda f: _write_bytes(f, (text + "\n").encode()), "json")

def _write_bytes(handle: IO[bytes], data: bytes) -> None:
    handle.write(data)


def _finite(value: Any) -> Any:
    """Replace non-finite floats by the strings ``"nan"``, ``"inf"``, ``"-inf"`` (valid JSON),
    and word every :class:`~symcheck.core.errors.Phrase` for the door writing the document."""
    if isinstance(value, str):
        return say(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars and arrays for ``json.dumps``; NaN/Inf become strings."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()] if value.ndim else _jsonable(value.item())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return f if np.isfinite(f) else str(f)
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")
