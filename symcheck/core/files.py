"""Files in and out: ``.npz`` reading that never unpickles, output that never leaves a partial
file behind (write to a temp file, then rename), and output paths checked before any work.

>>> check_output_path("-", "json")
>>> try:
...     check_output_path("no/such/dir/out.json", "json")
... except InputFileError as e:
...     print(e)
json: 'no/such/dir/out.json': directory 'no/such/dir' does not exist
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from symcheck.core.errors import InputFileError


def check_output_path(path: str | os.PathLike[str] | None, argument: str) -> None:
    """Refuse an output path that cannot be written, before any work is done (``-`` and
    ``None`` pass): its folder must exist, and it must not be a folder itself."""
    if path is None or str(path) == "-":
        return
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputFileError(f"{str(target)!r}: directory {str(directory)!r} does not exist",
                             argument=argument, value=str(target))
    if target.is_dir():
        raise InputFileError(f"{str(target)!r} is a directory, not a file", argument=argument,
                             value=str(target))


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
        raise InputFileError(f"file {str(p)!r} does not exist", argument=label)
    try:
        loaded = np.load(p, allow_pickle=False)
    except ValueError:
        # numpy takes any file that is neither a zip nor an .npy header for a pickle
        raise InputFileError(
            f"cannot read {str(p)!r} as .npz: it is neither an .npz archive nor an .npy array",
            argument=label,
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"cannot read {str(p)!r} as .npz: {exc}", argument=label) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise InputFileError(
            f"{str(p)!r} holds a single array (.npy format), not an .npz archive",
            argument=label,
        )
    try:
        with loaded as archive:
            return {k: archive[k] for k in archive.files}
    except ValueError as exc:
        raise InputFileError(
            f"{str(p)!r} holds an array that needs unpickling ({exc}); save plain numeric arrays",
            argument=label,
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"cannot read {str(p)!r} as .npz: {exc}", argument=label) from None
