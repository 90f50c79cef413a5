"""Output files are written where and as asked, whatever the path is (issue: bad input, third
round, point 1): a pipe by any name, a FIFO, a device, a full device, a read-only folder, a
link. Regular files keep the all-or-nothing write; anything else is written directly; every
failure is exit 2 with one line naming the flag, and no temporary file is left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from symcheck.core.errors import InputFileError
from symcheck.core.files import atomic_write, check_output_path, is_stdout

ROOT = Path(__file__).resolve().parents[1]
MODEL = str(ROOT / "samples" / "attention.py")
QUICK = ("--trials", "2", "--no-probes")
posix_only = pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="needs /dev/stdout")


def _symcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "symcheck", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=240)


def _no_temp(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@posix_only
@pytest.mark.parametrize("path", ["/dev/stdout", "/proc/self/fd/1", "/dev/fd/1"])
def test_json_to_stdout_by_another_name_is_a_document_on_stdout(tmp_path: Path,
                                                                path: str) -> None:
    if not os.path.exists(path):
        pytest.skip(f"{path} is not on this system")
    r = _symcheck("equivariance", MODEL, *QUICK, "--json", path, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] == "pass"  # the table went to stderr
    assert "PASS" in r.stderr
    _no_temp(tmp_path)


@posix_only
def test_a_link_to_our_stdout_is_stdout(tmp_path: Path) -> None:
    (tmp_path / "out.json").symlink_to("/proc/self/fd/1")
    r = _symcheck("equivariance", MODEL, *QUICK, "--json", "out.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] == "pass"
    assert (tmp_path / "out.json").is_symlink()
    _no_temp(tmp_path)


@posix_only
def test_process_substitution_gets_the_document(tmp_path: Path) -> None:
    if not Path("/bin/bash").exists():
        pytest.skip("needs bash")
    command = (f"{sys.executable} -m symcheck equivariance {MODEL} {' '.join(QUICK)} "
               "--json >(cat > got.json) > /dev/null; sleep 1")
    r = subprocess.run(["/bin/bash", "-c", command], cwd=tmp_path, capture_output=True,
                       text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "got.json").read_text())["verdict"] == "pass"


@posix_only
def test_junit_to_dev_stdout_is_xml_on_stdout(tmp_path: Path) -> None:
    (tmp_path / "symcheck.toml").write_text(
        f'[[check]]\nname = "a"\nmodel = "{MODEL}"\ntrials = 2\nprobes = false\n')
    r = _symcheck("check", "--junit", "/dev/stdout", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert ET.fromstring(r.stdout).tag in ("testsuites", "testsuite")


@posix_only
def test_json_into_a_redirected_stdout_file_keeps_the_stream(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    with open(out, "w") as handle:
        r = subprocess.run([sys.executable, "-m", "symcheck", "equivariance", MODEL, *QUICK,
                            "--json", "/dev/stdout"], cwd=tmp_path, stdout=handle,
                           stderr=subprocess.PIPE, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["verdict"] == "pass"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_exit_2_naming_the_flag(tmp_path: Path) -> None:
    r = _symcheck("equivariance", MODEL, *QUICK, "--json", "/dev/full", cwd=tmp_path)
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("symcheck: error: --json:") and "No space left" in last
    assert "Traceback" not in r.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_nobody_reads_is_an_error_not_a_wait(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    r = _symcheck("equivariance", MODEL, *QUICK, "--json", "fifo", cwd=tmp_path)
    assert r.returncode == 2
    assert "--json: 'fifo' is a FIFO that no process read within 5 s" in r.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_with_a_reader_gets_the_document(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    atomic_write(fifo, lambda f: f.write(b'{"a": 1}\n'), "json")
    reader.join(10)
    assert got == ['{"a": 1}\n'] and fifo.is_fifo()


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_dev_null_is_accepted_whoever_owns_dev(tmp_path: Path) -> None:
    check_output_path("/dev/null", "json")  # a device: its own permission, not /dev's
    atomic_write("/dev/null", lambda f: f.write(b"x"), "json")
    r = _symcheck("sparse-approx", str(ROOT / "samples" / "sparse" / "band.npy"), "--json",
                  "/dev/null", cwd=tmp_path)
    assert r.returncode in (0, 1) and "error" not in r.stderr


def test_a_read_only_folder_is_refused_before_the_work(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == folder
                        else real_access(p, mode))  # root may write anywhere: simulate
    with pytest.raises(InputFileError, match="is not writable"):
        check_output_path(folder / "r.json", "json")


def test_a_write_that_the_system_refuses_is_one_line(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(InputFileError, match=r"cannot write .*Permission denied") as info:
        atomic_write(tmp_path / "r.json", lambda f: f.write(b"x"), "json")
    assert info.value.argument == "json"
    _no_temp(tmp_path)


def test_a_link_to_a_file_replaces_the_file_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write(link, lambda f: f.write(b"new"), "json")
    assert link.is_symlink() and real.read_text() == "new"
    _no_temp(tmp_path)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="is a directory"):
        atomic_write(tmp_path, lambda f: f.write(b"x"), "json")


def test_is_stdout_is_false_for_an_ordinary_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    assert not is_stdout(tmp_path / "f") and not is_stdout(tmp_path / "missing")
