"""File handling shared by every command: .npz reading, atomic writes, and the last-resort
error net (an unexpected exception is exit 2 and one line, never exit 1 or a traceback)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from symcheck.core.errors import InputFileError
from symcheck.core.files import atomic_write, read_npz
from tests.conftest import SAMPLES, CliResult

Cli = Callable[..., CliResult]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    npy_named_npz = tmp_path / "single.npz"
    with npy_named_npz.open("wb") as handle:
        np.save(handle, np.eye(3))
    objects = tmp_path / "objects.npz"
    np.savez(objects, x=np.array([{"a": 1}], dtype=object))
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip archive")
    good = tmp_path / "good.npz"
    np.savez(good, x=np.ones((2, 2)))
    return {"single": npy_named_npz, "objects": objects, "garbage": garbage, "good": good,
            "missing": tmp_path / "missing.npz"}


@pytest.mark.parametrize(
    ("name", "message"),
    [("single", "holds a single array (.npy format)"), ("objects", "needs unpickling"),
     ("garbage", "cannot read"), ("missing", "does not exist")],
)
def test_read_npz_refuses(files: dict[str, Path], name: str, message: str) -> None:
    with pytest.raises(InputFileError, match=r"^--x: .*" + message.replace("(", r"\(")
                       .replace(")", r"\)")):
        read_npz(files[name], "--x")


def test_read_npz_reads(files: dict[str, Path]) -> None:
    arrays = read_npz(files["good"], "--x")
    np.testing.assert_array_equal(arrays["x"], np.ones((2, 2)))


@pytest.mark.parametrize(
    "args",
    [
        ("equivariance", "{single}"),  # saved weights
        ("equivariance", str(SAMPLES / "attention.py"), "--inputs", "{single}"),
        ("replay", "{single}"),
        ("sparse-approx", str(SAMPLES / "sparse" / "band.npy"), "--verify", "{single}"),
    ],
    ids=["weights", "--inputs", "replay", "--verify"],
)
def test_every_npz_reader_refuses_a_plain_npy(cli: Cli, files: dict[str, Path],
                                              args: tuple[str, ...]) -> None:
    r = cli(*(a.format(single=files["single"]) for a in args))
    assert r.exit_code == 2, r.output
    assert "holds a single array (.npy format)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_an_internal_error_is_exit_2_and_one_line(cli: Cli,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import symcheck.app.model_runner

    def boom(*args: object, **kwargs: object) -> None:
        raise TypeError("unexpected")

    monkeypatch.setattr(symcheck.app.model_runner, "check_problem", boom)
    r = cli("equivariance", SAMPLES / "attention.py")
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "symcheck: internal error: TypeError: unexpected (rerun with --debug for the traceback)"
    )
    assert "Traceback" not in r.output
    debug = cli("equivariance", SAMPLES / "attention.py", "--debug")
    assert "Traceback" in debug.stderr


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"

    def fail(handle: object) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert list(tmp_path.iterdir()) == []
