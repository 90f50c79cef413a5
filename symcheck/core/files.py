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

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
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
    """Write an output file so that it is never left partial, and never replaces what is not
    a regular file.

    A regular file (or a new one) is written to a temp file beside it and renamed into place,
    with the permissions ``0666`` less the umask (a replaced file keeps its own); a symlink is
    followed, so the file it points to is replaced and the link stays; a FIFO or a device is
    opened and written directly (it stays what it is). An interruption removes the temp file.

    >>> atomic_write("out.txt", lambda f: f.write(b"hello"))  # doctest: +SKIP
    """
    import stat

    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    if target.exists() and not target.is_file() and not target.is_dir():
        with open(target, "wb") as handle:  # a FIFO, a device: written as it is
            write(handle)
        return
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputFileError(f"{str(target)!r}: directory {str(directory)!r} does not exist",
                             argument="output", value=str(target))
    mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp, mode)
        if _STAGED is not None:  # inside all_or_nothing(): renamed when every output is ready
            _STAGED.append((tmp, target))
            return
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_STAGED: list[tuple[str, Path]] | None = None


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Every regular-file output written inside is renamed into place only when the block
    ends without an error: a failing later output leaves no earlier one behind."""
    global _STAGED
    outer, _STAGED = _STAGED, []
    staged = _STAGED
    try:
        yield
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    finally:
        _STAGED = outer


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name the same existing file (through links, relative or absolute)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def save_npz(path: str, arrays: Mapping[str, Any]) -> None:
    """Save arrays to an ``.npz`` atomically (numpy appends nothing: we pass a file object)."""
    import numpy as np

    atomic_write(path, lambda f: np.savez(f, **arrays))


def foreign_members(archive: Any) -> list[str]:
    """The members of an open ``np.load`` archive that are not ``.npy`` arrays (numpy would
    hand them back as raw bytes)."""
    names = archive.zip.namelist() if archive.zip is not None else []
    return [n for n in names if not n.endswith(".npy")]


@contextlib.contextmanager
def _unreadable_npz(p: Path, label: str) -> Iterator[None]:
    """An OS, end-of-file or zip error while reading ``p`` as the one-line error naming it."""
    import zipfile

    try:
        yield
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"cannot read {str(p)!r} as .npz: {exc}", argument=label) from None


def read_npz(path: str | os.PathLike[str], label: str) -> dict[str, Any]:
    """Every array of an ``.npz`` archive, never unpickling; one-line errors name ``label``.

    Refuses a missing file, a plain ``.npy`` saved under an ``.npz`` name, object arrays (which
    would need unpickling) and anything that is not a readable archive.
    """
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"file {str(p)!r} does not exist", argument=label)
    with _unreadable_npz(p, label):
        try:
            loaded = np.load(p, allow_pickle=False)
        except ValueError:
            # numpy takes any file that is neither a zip nor an .npy header for a pickle
            raise InputFileError(
                f"cannot read {str(p)!r} as .npz: it is neither an .npz archive nor an .npy "
                "array", argument=label,
            ) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise InputFileError(
            f"{str(p)!r} holds a single array (.npy format), not an .npz archive",
            argument=label,
        )
    with _unreadable_npz(p, label):
        try:
            with loaded as archive:
                foreign = foreign_members(archive)
                if foreign:
                    raise InputFileError(f"{str(p)!r} holds {foreign[0]!r}, which is not a .npy "
                                         "array (an .npz holds .npy members only)", argument=label)
                return {k: archive[k] for k in archive.files}
        except ValueError as exc:
            if "pickle" not in str(exc):
                raise InputFileError(f"cannot read {str(p)!r} as .npz: a malformed array ({exc})",
                                     argument=label) from None
            raise InputFileError(
                f"{str(p)!r} holds an array that needs unpickling ({exc}); save plain numeric "
                "arrays", argument=label,
            ) from None


@contextlib.contextmanager
def model_stdout_to_stderr() -> Iterator[None]:
    """While model code runs, what it writes to stdout goes to stderr — ``print`` and
    ``sys.stdout`` (redirected in Python) and also what reaches file descriptor 1 directly
    (``os.write(1, …)``, a C extension, a child process): stdout may be a JSON or JUnit
    document (a report written to ``-``). Where stdout has no descriptor, or 1 and 2 are the
    same file, only the Python redirect applies. ``os._exit`` raises ``SystemExit`` meanwhile:
    called by the model it would end the process with the model's exit code before any
    verdict (exit 0, a green gate); as an exception it becomes the check's error like
    ``sys.exit``."""
    import sys

    real_exit, pid = os._exit, os.getpid()

    def refuse_exit(code: int) -> None:  # os._exit would end the process before any verdict
        if os.getpid() != pid:  # a child the model forked (multiprocessing) ends as it means to
            real_exit(code)
        raise SystemExit(f"os._exit({code!r})")

    os._exit = refuse_exit  # type: ignore[assignment]
    saved = None
    try:
        sys.stdout.flush()
        if os.fstat(1) != os.fstat(2):
            saved = os.dup(1)
            os.dup2(2, 1)
    except (OSError, ValueError, AttributeError):
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        os._exit = real_exit
        if saved is not None:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 1)
            os.close(saved)
