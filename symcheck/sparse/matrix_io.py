"""Loading and validating the target matrix ``A`` of ``symcheck sparse-approx``.

Three formats are read: dense ``.npy``, scipy-sparse ``.npz`` (as written by
``scipy.sparse.save_npz``; a ``.npz`` holding exactly one dense array is accepted too) and Matrix
Market ``.mtx``. Nothing is ever unpickled: every ``np.load`` passes ``allow_pickle=False`` and a
sparse ``.npz`` is rebuilt from its raw arrays here, never through ``scipy.sparse.load_npz``.

Whatever the format, the result is a :class:`TargetMatrix` holding ``A`` as a canonical CSR
matrix (sorted indices, no duplicates, no explicit zeros), so a dense input never has to stay
dense. Every problem is an :class:`~symcheck.core.errors.InputFileError` whose one-line
message names the argument and the offending value, e.g.
``matrix 'a.npy': row 3 has no nonzero entry``.

>>> import numpy as np
>>> t = target_from_array(np.eye(3))
>>> (t.size, t.nnz, t.max_row_nnz)
(3, 3, 1)
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from symcheck.core.errors import InputFileError, Phrase
from symcheck.core.files import foreign_members, npy_header, parsing
from symcheck.core.memory import memory_budget

SUFFIXES = (".npy", ".npz", ".mtx")
_CHUNK_ROWS = 1024


@dataclass(frozen=True)
class TargetMatrix:
    """A validated target: square, finite, non-negative, every row with a nonzero.

    ``csr`` has sorted column indices and strictly positive stored values only.
    """

    csr: sp.csr_matrix
    source: str = "<array>"

    @property
    def size(self) -> int:
        """The sequence length ``L`` (``A`` is ``L × L``)."""
        return int(self.csr.shape[0])

    @property
    def nnz(self) -> int:
        return int(self.csr.nnz)

    @property
    def row_nnz(self) -> np.ndarray:
        return np.diff(self.csr.indptr)

    @property
    def max_row_nnz(self) -> int:
        """``N`` in the paper's bound: the largest number of nonzeros in one row."""
        return int(self.row_nnz.max())

    @property
    def max_ratio(self) -> float:
        """``R``: the largest within-row ratio of two nonzeros (1 when every row is flat)."""
        data = self.csr.data
        starts = self.csr.indptr[:-1]
        hi = np.maximum.reduceat(data, starts)
        lo = np.minimum.reduceat(data, starts)
        return float(np.max(hi / lo))


def check_memory(need_bytes: float, what: str, budget: float | None = None) -> None:
    """Raise :class:`InputFileError` when ``need_bytes`` exceeds the memory budget."""
    limit = budget if budget is not None else memory_budget()
    if need_bytes > limit:
        raise InputFileError(Phrase(
            what, f" needs {need_bytes / 2**30:.1f} GiB but only {limit / 2**30:.1f} GiB of "
            "memory is available for it; store the matrix sparse (.npz or .mtx)"
        ))


def load_matrix(path: str | os.PathLike[str], *, argument: str = "matrix") -> TargetMatrix:
    """Load and validate ``A`` from ``path`` (``.npy``, ``.npz`` or ``.mtx``)."""
    p = Path(path)
    label = f"{argument} {str(p)!r}"
    if not p.exists():
        raise InputFileError(f"{label}: file does not exist")
    if not p.is_file():
        raise InputFileError(f"{label}: not a regular file")
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputFileError(
            f"{label}: unknown file type {suffix or '(none)'!r}; expected one of "
            + ", ".join(SUFFIXES)
        )
    with parsing(f"{label}: cannot be read"):  # whatever numpy, zipfile or scipy raise
        if suffix == ".npy":
            csr = _load_npy(p, label)
        elif suffix == ".npz":
            csr = _load_npz(p, label)
        else:
            csr = _load_mtx(p, label)
    return validate(csr, label, str(p))


def target_from_array(matrix: Any, *, label: str = "matrix") -> TargetMatrix:
    """Validate an in-memory dense array or scipy sparse matrix (the Python-API entry)."""
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix)
    else:
        arr = np.asarray(matrix)
        _check_dtype(arr.dtype, label)
        _check_shape(arr.shape, label)
        _check_values(arr, label, row_offset=0)
        csr = sp.csr_matrix(arr.astype(np.float64, copy=False))
    return validate(csr, label, label)


def validate(csr: sp.csr_matrix, label: str, source: str) -> TargetMatrix:
    """Check square / finite / non-negative / no empty row and canonicalise the CSR matrix."""
    _check_shape(csr.shape, label)
    _check_dtype(csr.dtype, label)
    csr = sp.csr_matrix(csr, dtype=np.float64, copy=True)
    csr.sum_duplicates()
    _check_values(csr.data, label, row_offset=None, csr=csr)
    csr.eliminate_zeros()
    csr.sort_indices()
    empty = np.flatnonzero(np.diff(csr.indptr) == 0)
    if empty.size:
        more = f" (and {empty.size - 1} more)" if empty.size > 1 else ""
        raise InputFileError(
            f"{label}: row {int(empty[0])} has no nonzero entry{more}; every row of A needs "
            "at least one positive entry"
        )
    return TargetMatrix(csr=csr, source=source)


def _check_shape(shape: tuple[int, ...], label: str) -> None:
    if len(shape) != 2:
        raise InputFileError(f"{label}: expected a 2-D matrix, got shape {tuple(shape)}")
    if shape[0] != shape[1]:
        raise InputFileError(f"{label}: matrix is not square, shape {tuple(shape)}")
    if shape[0] == 0:
        raise InputFileError(f"{label}: matrix is empty, shape {tuple(shape)}")


def _check_dtype(dtype: np.dtype[Any], label: str) -> None:
    if dtype.hasobject:
        raise InputFileError(f"{label}: object arrays are not accepted (dtype {dtype})")
    if dtype.kind == "c":
        raise InputFileError(f"{label}: complex values are not accepted (dtype {dtype})")
    if dtype.kind not in "biuf":
        raise InputFileError(f"{label}: expected a real numeric matrix, got dtype {dtype}")


def _check_values(
    values: np.ndarray, label: str, row_offset: int | None, csr: sp.csr_matrix | None = None
) -> None:
    """Reject non-finite and negative values, naming the first offending position."""
    bad = ~np.isfinite(values)
    kind = "a non-finite value"
    if not bad.any():
        bad = values < 0
        kind = "a negative value"
        if not bad.any():
            return
    flat = int(np.flatnonzero(bad.ravel())[0])
    value = values.ravel()[flat]
    if csr is not None:
        row = int(np.searchsorted(csr.indptr, flat, side="right") - 1)
        where = f"({row}, {int(csr.indices[flat])})"
    else:
        r, c = np.unravel_index(flat, values.shape)
        where = f"({int(r) + (row_offset or 0)}, {int(c)})"
    raise InputFileError(f"{label}: entry {where} is {kind} ({value.item()!r}); A must be finite "
                         "and >= 0")


def _load_npy(p: Path, label: str) -> sp.csr_matrix:
    with open(p, "rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(handle)
            else:
                header = np.lib.format.read_array_header_2_0(handle)
        except ValueError as exc:
            raise InputFileError(f"{label}: not a valid .npy file ({exc})") from exc
    shape, _fortran, dtype = header
    _check_dtype(dtype, label)
    _check_shape(shape, label)
    nbytes = float(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    check_memory(nbytes, f"{label}: dense {tuple(shape)}")
    # Memory-map and convert in row chunks so a dense file is never held twice in memory.
    arr = np.load(p, mmap_mode="r", allow_pickle=False)
    if arr.shape != tuple(shape):  # pragma: no cover - defensive
        raise InputFileError(f"{label}: header shape {shape} does not match data {arr.shape}")
    parts = []
    for start in range(0, shape[0], _CHUNK_ROWS):
        chunk = np.asarray(arr[start : start + _CHUNK_ROWS], dtype=np.float64)
        _check_values(chunk, label, row_offset=start)
        parts.append(sp.csr_matrix(chunk))
    return sp.csr_matrix(sp.vstack(parts, format="csr"))


def _npz_int(files: Any, key: str, label: str) -> np.ndarray:
    arr = np.asarray(files[key])
    if arr.dtype.kind not in "iu":
        raise InputFileError(f"{label}: array {key!r} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _load_npz(p: Path, label: str) -> sp.csr_matrix:
    with np.load(p, allow_pickle=False) as files:
        foreign = foreign_members(files)
        if foreign:
            raise InputFileError(f"{label}: {foreign[0]!r} in the archive is not a .npy array "
                                 "(an .npz holds .npy members only)")
        keys = set(files.files)
        if "format" not in keys:
            if len(keys) != 1:
                raise InputFileError(
                    f"{label}: not a scipy sparse .npz (no 'format' array) and not a single "
                    f"dense array (found arrays {sorted(keys)})"
                )
            (key,) = keys
            _check_member(p, key, label)  # declared size and compression, before expanding
            header_arr = files[key]
            _check_dtype(header_arr.dtype, label)
            _check_shape(header_arr.shape, label)
            return sp.csr_matrix(header_arr)
        _check_sparse_members(p, keys, label)
        fmt = np.asarray(files["format"]).item()
        fmt = fmt.decode("ascii", "replace") if isinstance(fmt, bytes) else str(fmt)
        if "shape" not in keys or "data" not in keys:
            raise InputFileError(f"{label}: sparse .npz lacks a 'shape' or 'data' array")
        shape = tuple(int(s) for s in _npz_int(files, "shape", label).ravel())
        _check_shape(shape, label)
        data = np.asarray(files["data"])
        _check_dtype(data.dtype, label)
        if data.ndim != 1:
            raise InputFileError(f"{label}: sparse format {fmt!r} with {data.ndim}-D data")
        n = shape[0]
        if fmt in ("csr", "csc"):
            for key in ("indices", "indptr"):
                if key not in keys:
                    raise InputFileError(f"{label}: sparse {fmt} .npz lacks the {key!r} array")
            indices = _npz_int(files, "indices", label)
            indptr = _npz_int(files, "indptr", label)
            if indptr.shape != (n + 1,) or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
                raise InputFileError(f"{label}: malformed 'indptr' for shape {shape}")
            if indptr[-1] != data.size or indices.size != data.size:
                raise InputFileError(
                    f"{label}: 'indptr' ends at {int(indptr[-1])} but there are "
                    f"{indices.size} indices and {data.size} values"
                )
            if indices.size and (indices.min() < 0 or indices.max() >= n):
                raise InputFileError(f"{label}: an index in 'indices' is outside 0..{n - 1}")
            _enough_entries(data.size, n, label)
            cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
            return sp.csr_matrix(cls((data, indices, indptr), shape=shape))
        if fmt == "coo":
            if "row" in keys and "col" in keys:
                row, col = _npz_int(files, "row", label), _npz_int(files, "col", label)
            elif "coords" in keys:
                coords = _npz_int(files, "coords", label)
                if coords.ndim != 2 or coords.shape[0] != 2:
                    raise InputFileError(f"{label}: 'coords' must have shape (2, nnz)")
                row, col = coords[0], coords[1]
            else:
                raise InputFileError(f"{label}: sparse coo .npz lacks 'row'/'col' arrays")
            if not (row.size == col.size == data.size):
                raise InputFileError(f"{label}: 'row', 'col' and 'data' lengths differ")
            _enough_entries(data.size, n, label)
            for name, idx in (("row", row), ("col", col)):
                if idx.size and (idx.min() < 0 or idx.max() >= n):
                    raise InputFileError(f"{label}: an index in {name!r} is outside 0..{n - 1}")
            return sp.csr_matrix(sp.coo_matrix((data, (row, col)), shape=shape))
        raise InputFileError(
            f"{label}: sparse format {fmt!r} is not supported; save it as csr, csc or coo"
        )


def _enough_entries(entries: int, rows: int, label: str) -> None:
    """Every row needs a nonzero: a large matrix with fewer entries than rows is refused before
    any row index of that size is allocated (a 1 KB file may declare 10⁸ × 10⁸); a small one
    goes on to the validation that names the empty row."""
    if entries < rows and rows > 1 << 20:
        raise InputFileError(f"{label}: declares {rows:,} rows but holds {entries:,} entries; "
                             "every row of A needs at least one positive entry")


#: a dense member this much larger than its compressed bytes is refused (a zip bomb, or a
#: sparse matrix stored dense)
MAX_EXPANSION = 200
#: ... once it is at least this large
EXPANSION_FLOOR = 256 << 20


def _member_header(p: Path, key: str, label: str) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """The shape, dtype and compressed size of the .npz member ``key``, from its .npy header,
    without expanding it."""
    with zipfile.ZipFile(p) as archive:
        info = archive.getinfo(f"{key}.npy")
        with archive.open(info) as handle:
            try:
                shape, dtype = npy_header(handle)
            except ValueError as exc:
                raise InputFileError(f"{label}: not a valid .npy member ({exc})") from None
    return shape, dtype, info.compress_size


def _expands(need: float, packed: int) -> bool:
    """Whether a member needing ``need`` bytes, stored in ``packed``, is refused: at least
    :data:`EXPANSION_FLOOR` and more than :data:`MAX_EXPANSION` times its stored size."""
    return need > EXPANSION_FLOOR and need > MAX_EXPANSION * max(packed, 1)


def _check_member(p: Path, key: str, label: str) -> None:
    """Read a dense .npz member's .npy header without expanding it: refuse what would need
    more memory than there is, or expands from a small file to a huge one."""
    shape, dtype, packed = _member_header(p, key, label)
    _check_dtype(dtype, label)
    _check_shape(shape, label)
    need = float(np.prod(shape, dtype=np.float64)) * max(dtype.itemsize, 8)
    if _expands(need, packed):
        raise InputFileError(
            f"{label}: a dense {shape[0]:,} × {shape[1]:,} matrix ({need / 2**30:.1f} GiB) "
            f"compressed into {packed / 2**20:.1f} MiB is mostly zeros; store it "
            "sparse (scipy.sparse.save_npz or .mtx)"
        )
    check_memory(need, f"{label}: dense {tuple(shape)}")


def _check_sparse_members(p: Path, keys: set[str], label: str) -> None:
    """Every member of a sparse .npz, from its header, before any is expanded: one that
    expands from a few bytes to hundreds of MiB is refused (a zip bomb: a real index or value
    array does not compress 200-fold), and all of them together must fit in memory."""
    total = 0.0
    for key in sorted(keys):
        shape, dtype, packed = _member_header(p, key, label)
        need = float(np.prod(shape, dtype=np.float64)) * max(dtype.itemsize, 1)
        if _expands(need, packed):
            raise InputFileError(
                f"{label}: the {key!r} array declares {need / 2**20:,.0f} MiB but is stored in "
                f"{packed / 2**20:.2f} MiB; refusing to expand it"
            )
        total += need
    check_memory(total, f"{label}: the arrays of the sparse .npz")


#: the Matrix Market header symcheck reads: layout, field and symmetry
_MTX_LAYOUTS = ("coordinate", "array")
_MTX_FIELDS = ("real", "integer", "pattern", "double")
_MTX_SYMMETRIES = ("general", "symmetric", "skew-symmetric", "hermitian")


def _mtx_header(handle: Any, label: str) -> tuple[str, str, str, list[int]]:
    """The banner's layout, field and symmetry, and the size line's integers, read in Python
    (scipy's C++ reader crashed the process on some malformed files)."""
    banner = handle.readline().decode("ascii", "replace").split()
    if len(banner) != 5 or banner[0].lower() != "%%matrixmarket" or banner[1].lower() != "matrix":
        raise InputFileError(f"{label}: not a Matrix Market file (its first line must be "
                             "'%%MatrixMarket matrix LAYOUT FIELD SYMMETRY')")
    layout, field, symmetry = (w.lower() for w in banner[2:])
    if field == "complex":
        raise InputFileError(f"{label}: complex Matrix Market fields are not accepted")
    if layout not in _MTX_LAYOUTS or field not in _MTX_FIELDS or symmetry not in _MTX_SYMMETRIES:
        raise InputFileError(f"{label}: unknown Matrix Market banner {' '.join(banner[2:])!r}")
    line = handle.readline()
    while line and (line.startswith(b"%") or not line.strip()):
        line = handle.readline()
    try:
        size = [int(w) for w in line.split()]
    except ValueError:
        size = []
    if len(size) != (3 if layout == "coordinate" else 2) or min(size, default=-1) < 0:
        raise InputFileError(f"{label}: not a valid Matrix Market size line ({line[:60]!r})")
    return layout, field, symmetry, size


def _load_mtx(p: Path, label: str) -> sp.csr_matrix:
    with open(p, "rb") as handle:
        layout, field, symmetry, size = _mtx_header(handle, label)
        rows, cols = size[0], size[1]
        _check_shape((rows, cols), label)
        if layout == "array":
            check_memory(8.0 * rows * cols, f"{label}: dense Matrix Market {(rows, cols)}")
            values = _mtx_numbers(handle, rows * cols, 1, label)[:, 0]
            arr = values.reshape((cols, rows)).T  # column-major
            _check_values(arr, label, row_offset=0)
            return sp.csr_matrix(arr)
        entries = size[2]
        _enough_entries(entries, rows, label)
        check_memory(24.0 * entries + 8.0 * rows, f"{label}: {entries} coordinate entries")
        table = _mtx_numbers(handle, entries, 2 if field == "pattern" else 3, label)
    return _mtx_coordinates(table, field, symmetry, (rows, cols), label)


def _mtx_coordinates(table: np.ndarray, field: str, symmetry: str, shape: tuple[int, int],
                     label: str) -> sp.csr_matrix:
    """The CSR matrix of 1-based ``i j [v]`` rows; a symmetric file's triangle mirrored."""
    i, j = table[:, 0], table[:, 1]
    rows, cols = shape
    if len(table) and not (np.all(i == np.round(i)) and np.all(j == np.round(j))
                           and i.min() >= 1 and j.min() >= 1 and i.max() <= rows
                           and j.max() <= cols):
        raise InputFileError(f"{label}: an entry's row or column is not an index from 1 to "
                             f"{rows} × {cols}")
    values = np.ones(len(table)) if field == "pattern" else table[:, 2]
    r, c = i.astype(np.int64) - 1, j.astype(np.int64) - 1
    if symmetry != "general":  # the stored triangle, mirrored off the diagonal
        off = r != c
        sign = -1.0 if symmetry == "skew-symmetric" else 1.0
        r, c, values = (np.concatenate([r, c[off]]), np.concatenate([c, r[off]]),
                        np.concatenate([values, sign * values[off]]))
    return sp.csr_matrix((values, (r, c)), shape=shape)


def _mtx_numbers(handle: Any, count: int, width: int, label: str) -> np.ndarray:
    """``count`` lines of ``width`` numbers each (comments and blank lines skipped), as floats;
    a line that is short, long or not numbers is an error naming it."""
    out = np.empty((count, width))
    filled = 0
    for number, raw in enumerate(handle, start=1):
        text = raw.strip()
        if not text or text.startswith(b"%"):
            continue
        parts = text.split()
        try:
            if len(parts) != width or filled >= count:
                raise ValueError
            out[filled] = [float(w) for w in parts]
        except (ValueError, OverflowError):
            raise InputFileError(f"{label}: entry line {number} after the header is not "
                                 f"{width} numbers ({text[:60]!r}), or there are more than the "
                                 f"{count} declared") from None
        filled += 1
    if filled < count:
        raise InputFileError(f"{label}: declares {count} entries but holds {filled}")
    return out
