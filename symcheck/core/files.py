"""File output that never leaves a partial file behind: write to a temp file, then rename."""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from symcheck.core.errors import InputFileError


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` on a temp file beside ``path`` and rename it into place on success.

    >>> atomic_write("out.txt", lambda f: f.write(b"hello"))  # doctest: +SKIP
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputFileError(
            f"output path {str(target)!r}: directory {str(directory)!r} does not exist"
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: str, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as JSON to ``path`` atomically, or to stdout when ``path`` is ``-``."""
    text = json.dumps(_finite(payload), indent=2, allow_nan=False, default=_jsonable)
    if path == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    atomic_write(path, lambda f: _write_bytes(f, (text + "\n").encode()))


def save_npz(path: str, arrays: Mapping[str, Any]) -> None:
    """Save arrays to an ``.npz`` atomically (numpy appends nothing: we pass a file object)."""
    import numpy as np

    atomic_write(path, lambda f: np.savez(f, **arrays))


def read_npz(path: str | os.PathLike[str], label: str) -> dict[str, Any]:
    """Every array of an ``.npz`` archive, never unpickling; one-line errors name ``label``.

    Refuses a missing file, a plain ``.npy`` saved under an ``.npz`` name, object arrays (which
    would need unpickling) and anything that is not a readable archive.
    """
    import zipfile

    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{label}: file {str(p)!r} does not exist")
    try:
        loaded = np.load(p, allow_pickle=False)
    except ValueError:
        # numpy takes any file that is neither a zip nor an .npy header for a pickle
        raise InputFileError(
            f"{label}: cannot read {str(p)!r} as .npz: it is neither an .npz archive nor an "
            ".npy array"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"{label}: cannot read {str(p)!r} as .npz: {exc}") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise InputFileError(
            f"{label}: {str(p)!r} holds a single array (.npy format), not an .npz archive"
        )
    try:
        with loaded as archive:
            return {k: archive[k] for k in archive.files}
    except ValueError as exc:
        raise InputFileError(
            f"{label}: {str(p)!r} holds an array that needs unpickling ({exc}); save plain "
            "numeric arrays"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"{label}: cannot read {str(p)!r} as .npz: {exc}") from None


def _write_bytes(handle: IO[bytes], data: bytes) -> None:
    handle.write(data)


def _finite(value: Any) -> Any:
    """Replace non-finite floats by the strings ``"nan"``, ``"inf"``, ``"-inf"`` (valid JSON)."""
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
