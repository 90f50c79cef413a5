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

from symcheck.core.errors import InputFileError, SymcheckError

#: a member that expands more than this many times its stored size, to more than
#: :data:`EXPANSION_FLOOR` bytes, is refused unread (a zip bomb: real arrays do not compress so)
MAX_EXPANSION = 1000
EXPANSION_FLOOR = 256 << 20


def check_output_path(path: str | os.PathLike[str] | None, argument: str) -> None:
    """Refuse an output path that cannot be written, before any work is done (``-`` and
    ``None`` pass). A stream (a pipe, a terminal, a device, ``/dev/stdout``, a FIFO) must be
    writable by us; a file's folder must exist and be writable, and the path must not be a
    folder or a read-only file."""
    if path is None or str(path) == "-":
        return
    target = Path(path)
    kind = _what_is_there(target, argument)
    if kind == "directory":
        raise InputFileError(f"{str(target)!r} is a directory, not a file", argument=argument,
                             value=str(target))
    if kind == "stream":
        if not os.access(target, os.W_OK):
            raise InputFileError(f"{str(target)!r} is not writable", argument=argument,
                                 value=str(target))
        return
    real = target.resolve() if target.is_symlink() else target
    directory = real.parent if str(real.parent) else Path(".")
    if not directory.is_dir():
        raise InputFileError(f"{str(target)!r}: directory {str(directory)!r} does not exist",
                             argument=argument, value=str(target))
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputFileError(f"{str(target)!r}: directory {str(directory)!r} is not writable",
                             argument=argument, value=str(target))
    if kind == "file" and not os.access(real, os.W_OK):
        raise InputFileError(f"{str(target)!r} is read-only", argument=argument,
                             value=str(target))


def is_stdout(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names the file our stdout is (through links: ``/dev/stdout``)."""
    try:
        info, own = os.stat(path), os.fstat(1)
    except (OSError, ValueError):
        return False
    return (info.st_dev, info.st_ino) == (own.st_dev, own.st_ino)


def _what_is_there(target: Path, argument: str) -> str:
    """``new`` (nothing there yet), ``file`` (a regular file, through links), ``directory``, or
    ``stream``: anything else (a pipe, a FIFO, a terminal, a device), and a regular file that
    is our own stdout or stderr (a report sent to ``/dev/stdout`` while stdout is redirected to
    a file), which is written in place as the stream it is rather than replaced."""
    import stat

    try:
        info = os.stat(target)  # through every link: /dev/stdout -> /proc/self/fd/1 -> pipe
    except FileNotFoundError:
        return "new"
    except OSError as exc:
        raise InputFileError(f"cannot write {str(target)!r}: {exc.strerror or exc}",
                             argument=argument, value=str(target)) from None
    if stat.S_ISDIR(info.st_mode):
        return "directory"
    if not stat.S_ISREG(info.st_mode):
        return "stream"
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            own = os.fstat(fd)
            if (own.st_dev, own.st_ino) == (info.st_dev, info.st_ino):
                return "stream"
    return "file"


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None],
                 argument: str = "output") -> None:
    """Write an output file so that it is never left partial, and never replaces what is not
    a regular file; any failure is the one-line error naming ``argument``.

    A regular file (or a new one) is written to a temp file beside it and renamed into place,
    with the permissions ``0666`` less the umask (a replaced file keeps its own); a symlink is
    followed, so the file it points to is replaced and the link stays. A stream (a pipe, a
    FIFO, a terminal, a device, our own stdout by another name) is opened and written directly;
    a FIFO that nobody reads is an error, not a wait. An interruption removes the temp file.

    >>> atomic_write("out.txt", lambda f: f.write(b"hello"))  # doctest: +SKIP
    """
    import stat

    target = Path(path)
    kind = _what_is_there(target, argument)
    if kind == "stream":
        _write_stream(target, write, argument)
        return
    if kind == "directory":
        raise InputFileError(f"{str(target)!r} is a directory, not a file", argument=argument,
                             value=str(target))
    if target.is_symlink():
        target = target.resolve()
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputFileError(f"{str(target)!r}: directory {str(directory)!r} does not exist",
                             argument=argument, value=str(target))
    with _unwritable(Path(path), argument):
        mode = stat.S_IMODE(target.stat().st_mode) if kind == "file" else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with _unwritable(Path(path), argument):
            with os.fdopen(fd, "wb") as handle:
                write(handle)
            os.chmod(tmp, mode)
        if _STAGED is not None:  # inside all_or_nothing(): renamed when every output is ready
            _STAGED.append((tmp, target))
            return
        with _unwritable(Path(path), argument):
            os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


#: how long a FIFO may go without a reader before writing to it is an error (seconds)
FIFO_GRACE = 5.0


def _write_stream(target: Path, write: Callable[[IO[bytes]], None], argument: str) -> None:
    """Write to a stream as it is: opened without truncating (a regular file that is our own
    stdout keeps what was printed before) and without blocking on a FIFO nobody reads."""
    import errno
    import time

    waited = 0.0
    while True:
        try:
            fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK | os.O_APPEND)
            break
        except OSError as exc:
            if exc.errno == errno.ENXIO and waited < FIFO_GRACE:  # a reader may be starting
                time.sleep(0.05)
                waited += 0.05
                continue
            if exc.errno == errno.ENXIO:
                raise InputFileError(f"{str(target)!r} is a FIFO that no process read within "
                                     f"{FIFO_GRACE:g} s", argument=argument,
                                     value=str(target)) from None
            raise InputFileError(f"cannot write {str(target)!r}: {exc.strerror or exc}",
                                 argument=argument, value=str(target)) from None
    with _unwritable(target, argument):
        os.set_blocking(fd, True)
        with os.fdopen(fd, "wb") as handle:
            write(handle)


@contextlib.contextmanager
def _unwritable(target: Path, argument: str) -> Iterator[None]:
    """An OS error while writing ``target`` (no space, no permission, a closed pipe) as the
    one-line error naming ``argument``."""
    try:
        yield
    except OSError as exc:
        raise InputFileError(f"cannot write {str(target)!r}: {exc.strerror or exc}",
                             argument=argument, value=str(target)) from None


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


def save_npz(path: str, arrays: Mapping[str, Any], argument: str = "output") -> None:
    """Save arrays to an ``.npz`` atomically (numpy appends nothing: we pass a file object)."""
    import numpy as np

    atomic_write(path, lambda f: np.savez(f, **arrays), argument)


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


@contextlib.contextmanager
def parsing(what: str, argument: str | None = None) -> Iterator[None]:
    """While a file's bytes are parsed, any failure is the file's: one line, ``what`` (that the
    file cannot be read) and why in parentheses. Bytes from outside reach code that was not
    written for them (numpy's header tokenizer, zipfile's compression methods, scipy's readers,
    deep nesting), and each of their exceptions means the same thing to the user; a
    :class:`SymcheckError` raised inside passes as it is."""
    try:
        yield
    except SymcheckError:
        raise
    except MemoryError:
        raise InputFileError(f"{what} (it declares more data than this machine's memory "
                             "holds)", argument=argument) from None
    except RecursionError:
        raise InputFileError(f"{what} (it is nested too deeply)", argument=argument) from None
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InputFileError(f"{what} ({type(exc).__name__}: {first})", argument=argument
                             ) from None


def npy_header(handle: IO[bytes]) -> tuple[tuple[int, ...], Any]:
    """The shape and dtype an ``.npy`` stream declares, read from its header alone."""
    import numpy as np

    version = np.lib.format.read_magic(handle)
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read(handle)
    return tuple(int(s) for s in shape), dtype


def check_npz_sizes(p: Path, label: str) -> None:
    """Every ``.npy`` member of the archive ``p``, judged from its header before anything is
    expanded: its declared size must be what the member holds, it must not expand from a few
    bytes to hundreds of MiB, and all of them together must fit the memory guard."""
    import math
    import zipfile

    from symcheck.core.memory import gib, memory_budget

    total = 0.0
    with zipfile.ZipFile(p) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as handle:
                shape, dtype = npy_header(handle)
                header = handle.tell()
            need = math.prod(float(s) for s in shape) * dtype.itemsize
            name = info.filename[:-4]
            if need > info.file_size - header + 64:  # numpy pads; a little slack
                raise InputFileError(f"{str(p)!r}: the array {name!r} declares {gib(need)} "
                                     f"but the file holds {info.file_size} bytes of it",
                                     argument=label)
            if need > EXPANSION_FLOOR and need > MAX_EXPANSION * max(info.compress_size, 1):
                raise InputFileError(f"{str(p)!r}: the array {name!r} expands from "
                                     f"{info.compress_size:,} bytes to {gib(need)}; refusing "
                                     "to expand it", argument=label)
            total += need
    if total > memory_budget():
        raise InputFileError(f"{str(p)!r}: its arrays need {gib(total)} but "
                             f"{gib(memory_budget())} of memory is available for them",
                             argument=label)


def read_npz(path: str | os.PathLike[str], label: str) -> dict[str, Any]:
    """Every array of an ``.npz`` archive, never unpickling; one-line errors name ``label``.

    Refuses a missing file, a plain ``.npy`` saved under an ``.npz`` name, object arrays (which
    would need unpickling) and anything that is not a readable archive.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"file {str(p)!r} does not exist", argument=label)
    with parsing(f"cannot read {str(p)!r} as .npz", label):
        return _read_npz(p, label)


def _read_npz(p: Path, label: str) -> dict[str, Any]:
    import numpy as np

    with _unreadable_npz(p, label), open(p, "rb") as handle:
        magic = handle.read(6)
    if magic.startswith(b"\x93NUMPY"):
        raise InputFileError(
            f"{str(p)!r} holds a single array (.npy format), not an .npz archive",
            argument=label,
        )
    if not magic.startswith(b"PK"):
        raise InputFileError(
            f"cannot read {str(p)!r} as .npz: it is neither an .npz archive nor an .npy "
            "array", argument=label,
        )
    with _unreadable_npz(p, label):
        check_npz_sizes(p, label)  # from the headers, before any array is expanded
        loaded = np.load(p, allow_pickle=False)
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
