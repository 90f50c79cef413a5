"""Bad input, third round (points 3 to 5): parsed data bounded in depth and shape, sizes
judged from headers before anything is read whole, and nothing the user gave silently
dropped. Each row: exit 2, one line naming the argument, no traceback, no file left."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from symcheck.core.errors import InputFileError
from symcheck.core.files import read_npz

ROOT = Path(__file__).resolve().parents[1]
ATTENTION = str(ROOT / "samples" / "attention.py")


def _one_line(r: Any, expect: str) -> None:
    assert r.exit_code == 2, (r.exit_code, r.output)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symcheck: error: "), r.stderr
    assert "Traceback" not in r.output and "internal error" not in r.output
    assert expect in lines[0], lines[0]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    (tmp_path / "m.py").write_text("def f(x, y=None):\n    return x\n")
    return tmp_path / "m.py"


# ------------------------------------------------------------------ depth and shape (3)

def test_nested_names_in_a_spec_are_refused_not_recursed(cli: Any, model: Path) -> None:
    spec = "a=" * 3000 + "n d"
    _one_line(cli("equivariance", str(model), "--in", spec, "--out", "n d", "--group", "S(n)",
                  "--size", "n=3,d=2"), "has more than one NAME=")


@pytest.mark.parametrize(("text", "expect"), [
    ('tool = "symcheck"\n', "'tool' must be a table"),
    ("tool = 5\n", "'tool' must be a table"),
    ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
])
def test_a_hostile_pyproject_is_one_line(cli: Any, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, text: str,
                                         expect: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    _one_line(cli("check"), expect)


def test_a_deep_checkpoint_config_is_one_line(cli: Any, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "ck"
    shutil.copytree(ROOT / "samples" / "weights" / "llama", folder)
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    _one_line(cli("equivariance", str(folder / "model.safetensors")), "nested too deeply")


def _npz(path: Path, members: dict[str, bytes],
         compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue()


def test_a_header_that_declares_more_than_the_file_holds_is_refused_unread(
        tmp_path: Path) -> None:
    path = _npz(tmp_path / "a.npz", {"x.npy": _npy_header((10**6, 10**6)) + b"\0" * 64})
    with pytest.raises(InputFileError, match=r"declares .* but the file holds"):
        read_npz(path, "data")


def test_an_array_that_expands_a_thousandfold_is_refused_unread(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    from symcheck.core import files

    monkeypatch.setattr(files, "EXPANSION_FLOOR", 1 << 20)  # keep the test small
    zeros = _npy_header((1 << 19,)) + bytes(8 << 19)  # 4 MiB of zeros
    path = _npz(tmp_path / "bomb.npz", {"x.npy": zeros}, zipfile.ZIP_DEFLATED)
    with pytest.raises(InputFileError, match="expands from"):
        read_npz(path, "weights")


def test_arrays_beyond_the_memory_guard_are_refused_unread(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from symcheck.core import memory

    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    path = tmp_path / "ok.npz"
    np.savez(path, x=np.zeros(1000))
    with pytest.raises(InputFileError, match=r"need .* but .* of memory is available"):
        read_npz(path, "data")


@pytest.mark.parametrize(("members", "compression", "expect"), [
    ({"x.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': (((((\n"}, zipfile.ZIP_STORED,
     "cannot read"),
    ({"x.npy": _npy_header((3,)) + bytes(24)}, zipfile.ZIP_LZMA, ""),  # readable: lzma
])
def test_what_numpy_and_zipfile_raise_is_one_error(tmp_path: Path, members: dict[str, bytes],
                                                   compression: int, expect: str) -> None:
    path = _npz(tmp_path / "z.npz", members, compression)
    if expect:
        with pytest.raises(InputFileError, match=expect):
            read_npz(path, "data")
    else:
        assert read_npz(path, "data")["x"].shape == (3,)


def test_an_unknown_compression_method_is_one_error(tmp_path: Path) -> None:
    path = _npz(tmp_path / "z.npz", {"x.npy": _npy_header((3,)) + bytes(24)})
    data = bytearray(path.read_bytes())
    for at in (8, data.rfind(b"PK\x01\x02") + 10):  # the method in both headers: 99
        data[at:at + 2] = (99).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(InputFileError):
        read_npz(path, "data")


def test_a_deep_counterexample_metadata_is_one_line(tmp_path: Path) -> None:
    from symcheck.app.counterexample import load

    path = tmp_path / "ce.npz"
    np.savez(path, meta=np.array("[" * 5000 + "]" * 5000))
    with pytest.raises(InputFileError, match="nested too deeply"):
        load(path)


# ------------------------------------------------------------------ silent drops (5)

@pytest.mark.parametrize(("args", "expect"), [
    (["--in", "x=n d", "--in", "x=m d", "--out", "n d", "--group", "S(n)", "--size",
      "n=3,m=3,d=2"], "'x' names two inputs"),
    (["--in", "n d", "--out", "n d", "--group", "S(n)", "--size", "n=8,n=9,d=2"],
     "n is given twice (8 and 9)"),
    (["--in", "n d", "--out", "n d", "--group", "O( d )", "--group", "O(d)", "--size",
      "n=3,d=2"], "a group is named twice"),
    (["--in", "n c:complement(3,2,1,0)", "--out", "n c:complement(3,2,1,0)", "--group", "R(n)",
      "--size", "n=12,c=5"], "--size: c=5, but c:complement(3,2,1,0) has 4 channels"),
    (["--in", "n:set d", "--out", "n d", "--group", "S(n)", "--size", "n=3,d=2"],
     "':set' is for outputs"),
])
def test_nothing_given_is_dropped(cli: Any, model: Path, args: list[str], expect: str) -> None:
    _one_line(cli("equivariance", str(model), *args), expect)


def test_the_same_size_twice_is_one_size() -> None:
    from symcheck.core.specs import parse_sizes

    assert parse_sizes(["n=8", "n=8,d=2"]) == {"n": 8, "d": 2}



def test_an_n_n_output_is_masked_on_both_axes(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "import numpy as np\n"
        "def gram(x, mask):\n    return x @ x.T\n"
        "def broken(x, mask):\n"
        "    g = x @ x.T\n    g[0, 1] += 1e-3  # a fixed position, valid in the mask\n"
        "    return g\n")
    np.savez(tmp_path / "in.npz", x=np.random.default_rng(0).standard_normal((4, 3)),
             mask=np.array([True, True, True, False]))
    args = ["--in", "x=n d", "--in", "mask=n", "--out", "n n", "--group", "S(n)", "--inputs",
            str(tmp_path / "in.npz"), "--mask", "mask"]
    assert cli("equivariance", f"{tmp_path / 'm.py'}:gram", *args).exit_code == 0
    assert cli("equivariance", f"{tmp_path / 'm.py'}:broken", *args).exit_code == 1


def test_mask_for_an_output_with_the_label_twice() -> None:
    from symcheck.core.specs import AxisSpec
    from symcheck.engine.evaluate import mask_for

    valid = mask_for(AxisSpec.parse("b n"), np.array([[[1, 1, 0]]], bool),
                     AxisSpec.parse("b n n"), np.zeros((1, 1, 3, 3)))
    assert valid[0, 0].astype(int).tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]


# ------------------------------------------------------------------ memory before work (4)

@pytest.mark.parametrize(("args", "expect"), [
    (["--in", "n c:point", "--out", "n c:point", "--group", "T(c)", "--size", "n=4,c=100000"],
     "--size: the elements of T(c) need"),
    (["--in", "n c:point", "--out", "n c:point", "--group", "E(c)", "--size", "n=4,c=100000"],
     "--size: the elements of E(c) need"),
])
def test_group_elements_beyond_memory_are_refused_before_any_draw(cli: Any, model: Path,
                                                                  args: list[str],
                                                                  expect: str) -> None:
    _one_line(cli("equivariance", str(model), *args), expect)


@pytest.mark.parametrize(("args", "expect"), [
    (["permutation", "--lengths", str(2**40)], "--lengths: the target at L = "),
    (["band", "--k", "1000000000"], "--k: 1000000000 distinct columns per row do not fit"),
])
def test_a_sweep_judges_its_targets_before_drawing(cli: Any, args: list[str],
                                                   expect: str) -> None:
    _one_line(cli("sparse-sweep", *args), expect)


def test_an_encrypted_member_is_one_error(tmp_path: Path) -> None:
    path = _npz(tmp_path / "e.npz", {"x.npy": _npy_header((3,)) + bytes(24)})
    data = bytearray(path.read_bytes())
    for at in (6, data.rfind(b"PK\x01\x02") + 8):  # the general-purpose flags: encrypted
        data[at] |= 1
    path.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match="cannot read"):
        read_npz(path, "data")


def test_the_time_limit_bounds_the_poly_verification_too() -> None:
    import time

    from symcheck.sparse import approximate
    from symcheck.sparse.sweep import family_matrix

    target = family_matrix("band", 2048, 3, seed=0)
    start = time.perf_counter()
    result = approximate(target, method="poly", time_limit=1e-6)
    (poly,) = result.methods
    assert poly.stopped == "time-limit" and poly.d is None
    assert "rows measured" in str(poly.note)
    assert time.perf_counter() - start < 60
    assert approximate(target, method="poly").methods[0].d == 6  # unlimited: verified


@pytest.mark.parametrize(("body", "expect"), [
    (b"%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n2 2 2\n", "holds 2"),
    (b"%%MatrixMarket matrix coordinate real general\n3 3 1\n1 9 1\n", "not an index"),
    (b"%%MatrixMarket matrix coordinate real general\n3 3 1\n1 x 1\n", "entry line"),
    (b"%%MatrixMarket matrix coordinate real general\n3 3\n", "size line"),
    (b"%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n", "complex"),
    (b"%%MatrixMarket matrix tensor real general\n1 1 1\n1 1 1\n", "unknown Matrix Market"),
    (b"%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1e999\n2 2 1\n", "finite"),
])
def test_a_malformed_matrix_market_file_is_one_error(tmp_path: Path, body: bytes,
                                                     expect: str) -> None:
    """Read in Python: scipy's C++ Matrix Market reader crashed the process (SIGSEGV) on
    mutated files that the fuzz test found."""
    from symcheck.sparse.matrix_io import load_matrix

    (tmp_path / "a.mtx").write_bytes(body)
    with pytest.raises(InputFileError, match=expect):
        load_matrix(tmp_path / "a.mtx")


def test_a_symmetric_matrix_market_file_is_mirrored(tmp_path: Path) -> None:
    from symcheck.sparse.matrix_io import load_matrix

    (tmp_path / "s.mtx").write_bytes(b"%%MatrixMarket matrix coordinate real symmetric\n"
                                     b"% a comment\n2 2 2\n1 1 1.5\n2 1 0.5\n")
    a = load_matrix(tmp_path / "s.mtx").csr.toarray()
    assert a.tolist() == [[1.5, 0.5], [0.5, 0.0]]
