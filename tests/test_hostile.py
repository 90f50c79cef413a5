"""Hostile inputs: a table of malformed files and arguments across the commands, each of which
must end in the contract — exit 2 (or the stated code), one line on stderr, no traceback, no
internal error, nothing left in the output folder — plus property tests of the loaders on
random bytes, and the output-file guarantees (FIFOs, symlinks, umask, no partial files)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import stat
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLES, CliResult

Cli = Callable[..., CliResult]
ATTENTION = str(SAMPLES / "attention.py")
POSITIONAL = str(SAMPLES / "positional.py")
SPEC = ["--in", "n d", "--out", "n d", "--group", "S(n)", "--size", "n=3,d=2"]

# ------------------------------------------------------------------ files the table refers to

MODELS = {
    "syntax.py": "def f(x)\n    return x\n",
    "import_raises.py": "raise RuntimeError('no GPU here')\n",
    "import_exits.py": "import sys\nsys.exit(0)\n",
    "import_exits3.py": "raise SystemExit(3)\n",
    "import_generator_exit.py": "raise GeneratorExit()\n",
    "none.py": "X = 1\n",
    "two.py": textwrap.dedent("""
        import symcheck
        @symcheck.equivariant(inputs="n d", output="n d", groups="S(n)", sizes={"n": 3, "d": 2})
        def a(x):
            return x
        @symcheck.equivariant(inputs="n d", output="n d", groups="S(n)", sizes={"n": 3, "d": 2})
        def b(x):
            return x
    """),
    "badclass.py": "class M:\n    def __init__(self):\n        raise ValueError('needs args')\n",
    "notcallable.py": "thing = 3\n",
    "raises.py": "def f(x):\n    raise ValueError('boom')\n",
    "exits.py": "import sys\ndef f(x):\n    sys.exit(0)\n",
    "exits_none.py": "def f(x):\n    raise SystemExit\n",
    "wrongshape.py": "def f(x):\n    return x[:1]\n",
    "string.py": "def f(x):\n    return 'hello'\n",
    "complex.py": "def f(x):\n    return x * (1 + 1j)\n",
    "count.py": "def f(x):\n    return x, x\n",
    "none_out.py": "def f(x):\n    return None\n",
    "dict_out.py": "def f(x):\n    return {'a': x}\n",
    "nan.py": "import numpy as np\ndef f(x):\n    return x * np.nan\n",
    "ok.py": "def f(x):\n    return 2 * x\n",
    "printer.py": "print('hello from import')\ndef f(x):\n    print('hello from call')\n"
                  "    return 2 * x\n",
    "hang.py": "def f(x):\n    while True:\n        pass\n",
    "hang_import.py": "while True:\n    pass\n",
}


def _npz(path: Path, **arrays: object) -> Path:
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _meta(path: Path, meta: object) -> Path:
    return _npz(path, input_0=np.zeros((3, 2)), element_0=np.arange(3),
                meta=np.array(json.dumps(meta)))


GOOD_META = {"format": "symcheck-counterexample/1", "inputs": ["n d"], "outputs": ["n d"],
             "groups": ["S(n)"], "sizes": {"n": 3, "d": 2}, "dtype": "float64",
             "tolerance": 1e-9, "error": 1.0, "group": "S(n)", "case": "haar:0", "seed": 0,
             "model": "ok.py:f", "model_relative": "ok.py", "member": "f", "name": "f"}

FILES: dict[str, Callable[[Path], Path]] = {
    "empty.npz": lambda d: _write(d / "empty.npz", b""),
    "garbage.npz": lambda d: _write(d / "garbage.npz", b"\x00\x01 not a zip at all" * 7),
    "truncated.npz": lambda d: _write(d / "truncated.npz",
                                      _npz(d / "_t.npz", a=np.ones(100)).read_bytes()[:90]),
    "npy_as_npz.npz": lambda d: (np.save(d / "x.npy", np.ones(3)),
                                 (d / "x.npy").rename(d / "npy_as_npz.npz"))[1],
    "object.npz": lambda d: _write(d / "object.npz", _object_npz(d)),
    "not_npy_member.npz": lambda d: _zip_with(d / "not_npy_member.npz", "notes.txt", b"hi"),
    "bad_header.npz": lambda d: _zip_with(d / "bad_header.npz", "x.npy",
                                          b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}     \n"),
    "strings.npz": lambda d: _npz(d / "strings.npz", x=np.array(["a", "b"])),
    "nan.npz": lambda d: _npz(d / "nan.npz", x=np.array([[1.0, np.nan]] * 3)),
    "three.npz": lambda d: _npz(d / "three.npz", x=np.ones((3, 2)), y=np.ones(2)),
    "shape.npz": lambda d: _npz(d / "shape.npz", x=np.ones((4, 5, 6))),
    "no_meta.npz": lambda d: _npz(d / "no_meta.npz", input_0=np.ones((3, 2))),
    "meta_not_json.npz": lambda d: _npz(d / "meta_not_json.npz", meta=np.array("{nope")),
    "meta_list.npz": lambda d: _meta(d / "meta_list.npz", [1, 2]),
    "meta_wrong_format.npz": lambda d: _meta(d / "meta_wrong_format.npz",
                                             {**GOOD_META, "format": "other/9"}),
    "meta_no_groups.npz": lambda d: _meta(d / "meta_no_groups.npz",
                                          {k: v for k, v in GOOD_META.items() if k != "groups"}),
    "meta_bad_sizes.npz": lambda d: _meta(d / "meta_bad_sizes.npz",
                                          {**GOOD_META, "sizes": {"n": "three"}}),
    "meta_bad_groups.npz": lambda d: _meta(d / "meta_bad_groups.npz",
                                           {**GOOD_META, "groups": ["X(n)"]}),
    "meta_no_tolerance.npz": lambda d: _meta(d / "meta_no_tolerance.npz",
                                             {**GOOD_META, "tolerance": "small"}),
    "meta_bad_case.npz": lambda d: _meta(d / "meta_bad_case.npz",
                                         {**GOOD_META, "case": "haar:zero"}),
    "meta_bad_element.npz": lambda d: _npz(
        d / "meta_bad_element.npz", input_0=np.zeros((3, 2)), element_0=np.array([0, 0, 1]),
        meta=np.array(json.dumps(GOOD_META))),
    "meta_float_element.npz": lambda d: _npz(
        d / "meta_float_element.npz", input_0=np.zeros((3, 2)), element_0=np.ones((3, 3)),
        meta=np.array(json.dumps(GOOD_META))),
    "meta_wrong_input.npz": lambda d: _npz(
        d / "meta_wrong_input.npz", input_0=np.zeros((3, 2, 2)), element_0=np.arange(3),
        meta=np.array(json.dumps(GOOD_META))),
    "latin1.toml": lambda d: _write(d / "latin1.toml", "[[check]]\nname = 'é'\n".encode("latin-1")),
    "bad.toml": lambda d: _write(d / "bad.toml", b"[[check]\nname = \n"),
    "nochecks.toml": lambda d: _write(d / "nochecks.toml", b"title = 'x'\n"),
    "unknown.toml": lambda d: _write(d / "unknown.toml",
                                     b"[[check]]\nname = 'a'\nmodel = 'ok.py'\ncolour = 1\n"),
    "rtol_inf.toml": lambda d: _write(d / "rtol_inf.toml",
                                      b"[[check]]\nname = 'a'\nmodel = 'ok.py'\nrtol = inf\n"),
    "rtol_nan.toml": lambda d: _write(d / "rtol_nan.toml",
                                      b"[[check]]\nname = 'a'\nmodel = 'ok.py'\nrtol = nan\n"),
    "timeout_neg.toml": lambda d: _write(d / "timeout_neg.toml",
                                         b"[[check]]\nname = 'a'\nmodel = 'ok.py'\ntimeout = -1\n"),
    "probes_str.toml": lambda d: _write(d / "probes_str.toml",
                                        b"[[check]]\nname = 'a'\nmodel = 'ok.py'\nprobes = 'no'\n"),
    "dup.toml": lambda d: _write(d / "dup.toml", b"[[check]]\nname = 'a'\nmodel = 'ok.py'\n"
                                 b"[[check]]\nname = 'a'\nmodel = 'ok.py'\n"),
    "two_kinds.toml": lambda d: _write(d / "two_kinds.toml",
                                       b"[[check]]\nname = 'a'\nmodel = 'ok.py'\nmatrix = 'm'\n"),
    "huge_header.mtx": lambda d: _write(
        d / "huge_header.mtx", b"%%MatrixMarket matrix coordinate real general\n"
        + b"9" * 400 + b" " + b"9" * 400 + b" 1\n1 1 1.0\n"),
    "csr_bomb.npz": lambda d: _write(d / "csr_bomb.npz", _csr_bomb()),
    "sparse_copy.npz": lambda d: _write(d / "sparse_copy.npz",
                                        (SAMPLES / "sparse" / "random_k4.npz").read_bytes()),
    "sizes_zero.toml": lambda d: _write(d / "sizes_zero.toml",
                                        b"[[check]]\nname = 'a'\nmodel = 'ok.py'\n"
                                        b"sizes = { n = 0 }\n"),
}


def _object_npz(d: Path) -> bytes:
    np.savez(d / "_o.npz", x=np.array([{"a": 1}], dtype=object))  # type: ignore[arg-type]
    return (d / "_o.npz").read_bytes()


@functools.cache
def _csr_bomb() -> bytes:
    """A 0.3 MiB sparse .npz whose 'indptr' declares 305 MiB of zeros (written streaming,
    once per session)."""
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for key, arr in (("format", np.array(b"csr")), ("shape", np.array([40_000_000] * 2)),
                         ("indices", np.array([0])), ("data", np.array([1.0]))):
            buffer = io.BytesIO()
            np.save(buffer, arr)
            z.writestr(f"{key}.npy", buffer.getvalue())
        count = 40_000_001
        with z.open("indptr.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<i8", "fortran_order": False, "shape": (count,)})
            left, chunk = 8 * count, bytes(1 << 22)
            while left > 0:
                f.write(chunk[:min(left, len(chunk))])
                left -= len(chunk)
    return out.getvalue()


def _zip_with(path: Path, member: str, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, data)
    return path


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    for name, text in MODELS.items():
        (tmp_path / name).write_text(text)
    for make in FILES.values():
        make(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "adir").mkdir()
    return tmp_path


# ------------------------------------------------------------------ the table

E = "equivariance"
BAD_OPTIONS: list[tuple[str, list[str], str]] = [
    *[(f"trials-{v}", [E, ATTENTION, "--trials", v], "--trials") for v in
      ("0", "-1", "abc", "1.5", "1000000000")],
    *[(f"seed-{v}", [E, ATTENTION, "--seed", v], "--seed") for v in ("-1", "abc", "1e3")],
    *[(f"rtol-{v}", [E, ATTENTION, "--rtol", v], "--rtol") for v in
      ("0", "-1", "inf", "-inf", "nan", "abc", "1e-400")],
    *[(f"dtype-{v}", [E, ATTENTION, "--dtype", v], "--dtype") for v in
      ("float8", "int32", "", "FLOAT32", "complex64")],
    *[(f"size-{v}", [E, ATTENTION, "--size", v], "--size") for v in
      ("n=0", "n=abc", "n", "=3", "N=4", "d=-1", "n=1.5", "q=3")],
    *[(f"group-{v}", [E, ATTENTION, "--group", v], "--group") for v in
      ("X(d)", "O", "O(q)", "O(d", "", "O(d) S(n)", "S(n)x")],
    *[(f"in-{v}", [E, ATTENTION, "--in", v], "--in") for v in ("n d!", "1 2", "n:spinor d")],
    *[(f"out-{v}", [E, ATTENTION, "--out", v], "--out") for v in ("n d!", "n d:bogus")],
    *[(f"case-{v}", [E, ATTENTION, "--case", v], "--case") for v in
      ("foo", "O(d)/haar:99", "X(d)/haar:0", "S(n)/search", "O(d)/")],
    *[(f"search-{v}", [E, ATTENTION, "--search", v], "--search") for v in ("-1", "10000000")],
    *[(f"timeout-{v}", [E, ATTENTION, "--timeout", v], "--timeout") for v in
      ("0", "-1", "inf", "nan", "abc", "1e300")],
    *[(f"declare-{name}", [E, "{d}/ok.py:f", "--in", i, "--out", o, "--group", g, "--size",
                           "n=3,d=2"], expect) for name, i, o, g, expect in [
        ("index-no-label", "n d", "n k:index()", "S(n)", "index"),
        ("index-two-labels", "n d", "n k:index(n,d)", "S(n)", "one label"),
        ("index-unknown-label", "n d", "n k:index(q)", "S(n)", "appears in no spec"),
        ("index-twice", "n d", "n:index(n) k:index(n)", "S(n)", "two axes"),
        ("index-by-rotation", "n d", "n k:index(d)", "O(d)", "does not permute"),
        ("index-input-drawn", "n d:index(n)", "n d", "S(n)", "cannot draw"),
        ("set-argument", "n d", "e:set(1) k", "S(n)", "takes no argument"),
        ("complement-empty", "n c:complement()", "n d", "R(n)", "complement"),
        ("complement-letters", "n c:complement(A,T)", "n d", "R(n)", "channel indices"),
        ("complement-not-perm", "n c:complement(0,0,1)", "n d", "R(n)", "permutation"),
        ("complement-not-involution", "n c:complement(1,2,0)", "n d", "R(n)", "undoes"),
        ("complement-no-reversal", "n c:complement(1,0)", "n d", "S(n)", "names none"),
        ("complement-own-group", "n c:complement(1,0) d", "n d", "O(c)", "acts on 'c'"),
        ("group-R-no-label", "n d", "n d", "R()", "--group"),
        ("group-D-lower", "n d", "n d", "d(n)", "--group"),
    ]],
    ("size-beyond-memory", [E, ATTENTION, "--size", "d=1000000000000"],
     "--size: one case of the check needs"),
    ("backend-foo", [E, ATTENTION, "--backend", "foo"], "--backend"),
    ("backend-empty", [E, ATTENTION, "--backend", ""], "--backend"),
    ("layer-on-model", [E, ATTENTION, "--layer", "x"], "--layer"),
    ("heads-on-model", [E, ATTENTION, "--heads", "2"], "--heads"),
    ("weights-on-model", [E, ATTENTION, "--weights", "fixed"], "--weights"),
    ("component-on-model", [E, ATTENTION, "--component", "block"], "--component"),
    ("unknown-option", [E, ATTENTION, "--colour"], "--colour"),
    ("missing-target", [E], "TARGET"),
    ("json-in-missing-dir", [E, ATTENTION, "--json", "{d}/no/such/r.json"], "--json"),
    ("json-is-dir", [E, ATTENTION, "--json", "{d}/adir"], "--json"),
    ("json-is-model", [E, "{d}/ok.py", *SPEC, "--json", "{d}/ok.py"], "--json"),
    ("json-and-counterexample-same", [E, POSITIONAL, "--json", "{d}/out/x.npz",
                                      "--save-counterexample", "{d}/out/x.npz"], "also"),
    ("counterexample-missing-dir", [E, ATTENTION, "--save-counterexample", "{d}/no/x"],
     "--save-counterexample"),
    ("weights-rejects-search", [E, str(SAMPLES / "weights/bert/model.npz"), "--search", "5"],
     "--search"),
    ("weights-rejects-d", [E, str(SAMPLES / "weights/bert/model.npz"), "--size", "d=4"],
     "--size"),
    ("weights-bfloat16", [E, str(SAMPLES / "weights/bert/model.npz"), "--dtype", "bfloat16"],
     "--dtype"),
    ("weights-stack-component", [E, str(SAMPLES / "weights/bert/model.npz"), "--layer", "all",
                                 "--component", "attention"], "--component"),
    ("form-weights-mode", ["form", "{d}/ok.py", *SPEC, "--weights", "frozen"], "--weights"),
    ("form-span-rtol", ["form", "{d}/ok.py", *SPEC, "--span-rtol", "-1"], "--span-rtol"),
    ("form-on-weights", ["form", str(SAMPLES / "weights/bert/model.npz")], "not a Python file"),
    ("form-json-model", ["form", "{d}/ok.py", *SPEC, "--json", "{d}/ok.py"], "--json"),
    ("check-junit-json-same", ["check", "--config", str(SAMPLES / "ci/pyproject.toml"),
                               "--junit", "{d}/out/r", "--json", "{d}/out/r"], "also"),
    ("check-both-stdout", ["check", "--config", str(SAMPLES / "ci/pyproject.toml"), "--junit",
                           "-", "--json", "-"], "stdout"),
    ("check-only-unknown", ["check", "--config", str(SAMPLES / "ci/pyproject.toml"), "--only",
                            "nope"], "--only"),
    ("check-config-missing", ["check", "--config", "{d}/missing.toml"], "does not exist"),
    ("replay-missing", ["replay", "{d}/missing.npz"], "does not exist"),
    ("replay-backend", ["replay", "{d}/meta_bad_element.npz", "{d}/ok.py:f", "--backend", "x"],
     "--backend"),
    ("replay-json-is-input", ["replay", "{d}/meta_bad_element.npz", "{d}/ok.py:f", "--json",
                              "{d}/meta_bad_element.npz"], "--json"),
    ("replay-timeout", ["replay", "{d}/meta_bad_element.npz", "--timeout", "-3"], "--timeout"),
]

BAD_MODELS: list[tuple[str, list[str], str]] = [
    (f"model-{name}", [E, f"{{d}}/{name}", *SPEC], expect) for name, expect in [
        ("missing.py", "does not exist"), ("adir", "is a directory"),
        ("syntax.py", "SyntaxError"), ("import_raises.py", "no GPU here"),
        ("import_exits.py", "SystemExit"), ("import_exits3.py", "SystemExit"),
        ("import_generator_exit.py", "GeneratorExit"), ("none.py", "no checked callable"),
        ("two.py", "declares 2 checked callables"), ("badclass.py", "needs args"),
        ("raises.py", "boom"), ("exits.py", "SystemExit"), ("exits_none.py", "SystemExit"),
        ("wrongshape.py", "has shape"), ("string.py", "not an array"),
        ("complex.py", "complex"), ("count.py", "returned 2 output"),
        ("none_out.py", "not an array"), ("dict_out.py", "not an array"),
        ("garbage.npz", "not"), ("empty.npz", "not"),
    ]
] + [
    ("model-notcallable", [E, "{d}/notcallable.py:thing", *SPEC], "not callable"),
    ("model-no-member", [E, "{d}/ok.py:g", *SPEC], "no callable named"),
    ("model-not-py", [E, "{d}/latin1.toml", *SPEC], "not a .py file"),
    ("timeout-call", [E, "{d}/hang.py:f", *SPEC, "--timeout", "1"], "did not finish"),
    ("timeout-import", [E, "{d}/hang_import.py:f", *SPEC, "--timeout", "1"], "did not finish"),
]

BAD_DATA: list[tuple[str, list[str], str]] = [
    (f"inputs-{name}", [E, "{d}/ok.py:f", *SPEC, "--inputs", f"{{d}}/{name}"], expect)
    for name, expect in [
        ("missing.npz", "does not exist"), ("empty.npz", "cannot read"),
        ("garbage.npz", "cannot read"), ("truncated.npz", "cannot read"),
        ("npy_as_npz.npz", "single array"), ("object.npz", "unpickling"),
        ("not_npy_member.npz", "not a .npy array"), ("bad_header.npz", "cannot read"),
        ("strings.npz", "not numeric"), ("shape.npz", "rank"), ("adir", "does not exist"),
        ("nan.npz", "non-finite"),
    ]
]

BAD_CONFIGS: list[tuple[str, list[str], str]] = [
    (f"config-{name}", ["check", "--config", f"{{d}}/{name}"], expect) for name, expect in [
        ("latin1.toml", "not UTF-8"), ("bad.toml", "not valid TOML"),
        ("nochecks.toml", "unknown key 'title'"), ("unknown.toml", "unknown key 'colour'"),
        ("rtol_inf.toml", "finite positive"), ("rtol_nan.toml", "finite positive"),
        ("timeout_neg.toml", "finite positive"), ("probes_str.toml", "true or false"),
        ("dup.toml", "used twice"), ("two_kinds.toml", "are both given"),
        ("sizes_zero.toml", "positive integer"), ("garbage.npz", "not valid TOML"),
    ]
]

BAD_REPLAYS: list[tuple[str, list[str], str]] = [
    (f"replay-{name}", ["replay", f"{{d}}/{name}", "{d}/ok.py:f"], expect) for name, expect in [
        ("empty.npz", "cannot read"), ("garbage.npz", "cannot read"),
        ("npy_as_npz.npz", "single array"), ("object.npz", "unpickling"),
        ("no_meta.npz", "not a symcheck counterexample"),
        ("meta_not_json.npz", "not a symcheck counterexample"),
        ("meta_list.npz", "format None"), ("meta_wrong_format.npz", "format 'other/9'"),
        ("meta_no_groups.npz", "'groups'"), ("meta_bad_sizes.npz", "malformed"),
        ("meta_bad_groups.npz", "unknown group"), ("meta_no_tolerance.npz", "'tolerance'"),
        ("meta_bad_case.npz", "no valid group and case"),
        ("meta_bad_element.npz", "not a member"), ("meta_float_element.npz", "integer"),
        ("meta_wrong_input.npz", "do not fit"),
    ]
]

SPARSE = str(SAMPLES / "sparse" / "band.npy")
BAD_MATRICES: list[tuple[str, list[str], str]] = [
    (f"matrix-{name}", ["sparse-approx", f"{{d}}/{name}"], name) for name in (
        "empty.npz", "garbage.npz", "truncated.npz", "npy_as_npz.npz", "object.npz",
        "not_npy_member.npz", "bad_header.npz", "strings.npz", "shape.npz", "three.npz",
        "missing.npy", "latin1.toml",
    )
] + [
    (f"matrix-precision-{v}", ["sparse-approx", SPARSE, "--precision", v], "--precision")
    for v in ("0", "-1", "nan", "inf", "2", "abc")
] + [
    ("matrix-max-d-0", ["sparse-approx", SPARSE, "--max-d", "0"], "--max-d"),
    ("matrix-save-onto-input", ["sparse-approx", SPARSE, "--save", SPARSE], "--save"),
    ("matrix-json-missing-dir", ["sparse-approx", SPARSE, "--json", "{d}/no/r.json"], "--json"),
    ("matrix-method", ["sparse-approx", SPARSE, "--method", "magic"], "--method"),
    ("matrix-seed", ["sparse-approx", SPARSE, "--seed", "-1"], "--seed"),
    ("matrix-precision-1e-300", ["sparse-approx", SPARSE, "--precision", "1e-300"],
     "--precision"),
    ("matrix-leak-5e-324", ["sparse-approx", SPARSE, "--leak-precision", "5e-324"],
     "--leak-precision"),
    ("matrix-mtx-400-digits", ["sparse-approx", "{d}/huge_header.mtx"], "huge_header.mtx"),
    ("matrix-csr-bomb", ["sparse-approx", "{d}/csr_bomb.npz"], "refusing to expand"),
    ("matrix-save-onto-npz-input", ["sparse-approx", "{d}/sparse_copy.npz", "--save",
                                    "{d}/sparse_copy.npz"], "one of the inputs"),
    ("matrix-json-onto-input", ["sparse-approx", SPARSE, "--json", SPARSE], "one of the inputs"),
    ("sweep-k-above-L", ["sparse-sweep", "random", "--k", "65", "--lengths", "64"], "--k"),
    ("sweep-plot-is-json", ["sparse-sweep", "random", "--lengths", "64", "--methods", "poly",
                            "--plot", "{d}/out/o.png", "--json", "{d}/out/o.png"], "--plot"),
]

TABLE = BAD_OPTIONS + BAD_MODELS + BAD_DATA + BAD_CONFIGS + BAD_REPLAYS + BAD_MATRICES


def test_the_table_is_large_enough() -> None:
    assert len(TABLE) >= 150, len(TABLE)
    assert len({name for name, _, _ in TABLE}) == len(TABLE)  # ids are unique


@pytest.mark.parametrize(("args", "expect"), [row[1:] for row in TABLE],
                         ids=[row[0] for row in TABLE])
def test_bad_input_keeps_the_contract(cli: Cli, hostile: Path, args: list[str],
                                      expect: str) -> None:
    before = sorted(p.name for p in hostile.iterdir())
    r = cli(*(a.format(d=hostile) for a in args))
    assert r.exit_code == 2, (r.exit_code, r.output)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("symcheck: error: "), lines[0]
    assert "Traceback" not in r.output and "internal error" not in r.output
    assert expect in lines[0], lines[0]
    assert sorted(p.name for p in hostile.iterdir()) == before  # no file left behind
    assert list((hostile / "out").iterdir()) == []


# ------------------------------------------------------------------ loaders on random bytes

def _loaders() -> list[tuple[str, Callable[[Path], object]]]:
    from symcheck.app.config import load_config
    from symcheck.app.counterexample import load as load_counterexample
    from symcheck.core.files import read_npz
    from symcheck.sources.inputs import load_inputs

    out: list[tuple[str, Callable[[Path], object]]] = [
        (".npz", lambda p: read_npz(p, "data")),
        (".npz", load_counterexample),
        (".npz", lambda p: load_inputs(p, lambda x: x, 1)),
        (".toml", load_config),
    ]
    try:
        from symcheck.sparse.matrix_io import load_matrix

        out += [(".npy", load_matrix), (".npz", load_matrix), (".mtx", load_matrix)]
    except ImportError:  # pragma: no cover
        pass
    return out


_PREFIXES = [b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00", b"%%MatrixMarket matrix coordinate ",
             b"[[check]]\n"]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(_PREFIXES), body=st.binary(max_size=400))
def test_loaders_raise_only_symcheck_errors_on_random_bytes(tmp_path: Path, prefix: bytes,
                                                            body: bytes) -> None:
    from symcheck.core.errors import SymcheckError

    for suffix, load in _loaders():
        path = tmp_path / f"fuzz{suffix}"
        path.write_bytes(prefix + body)
        with contextlib.suppress(SymcheckError):  # a named error is the contract
            load(path)


# ------------------------------------------------------------------ output files

def test_a_fifo_stays_a_fifo_and_receives_the_report(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen([sys.executable, "-c",
                               f"import sys; sys.stdout.write(open({str(fifo)!r}).read())"],
                              stdout=subprocess.PIPE, text=True)
    exe = Path(sys.executable).with_name("symcheck")
    done = subprocess.run([str(exe), "equivariance", ATTENTION, "--json", str(fifo)],
                          capture_output=True, text=True, timeout=120)
    out, _ = reader.communicate(timeout=60)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(out)["verdict"] == "pass"


def test_a_symlinked_output_keeps_its_link(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert cli("equivariance", ATTENTION, "--json", link).exit_code == 0
    assert link.is_symlink() and json.loads(target.read_text())["verdict"] == "pass"


def test_reports_respect_the_umask(cli: Cli, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        assert cli("equivariance", ATTENTION, "--json", tmp_path / "r.json").exit_code == 0
        assert cli("check", "--config", SAMPLES / "ci" / "pyproject.toml", "--junit",
                   tmp_path / "r.xml").exit_code == 0
    finally:
        os.umask(old)
    for name in ("r.json", "r.xml"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_sparse_outputs_follow_the_umask_and_say_where_they_went(
        cli: Cli, tmp_path: Path, umask: int) -> None:
    """The parameters (.npz) and the plot (.png) get 0666 less the umask, as every output does
    (the plot was 0600 whatever the umask), and the report names each file written."""
    pytest.importorskip("matplotlib")
    params, png = tmp_path / "p.npz", tmp_path / "d.png"
    old = os.umask(umask)
    try:
        saved = cli("sparse-approx", SAMPLES / "sparse" / "permutation.npy", "--save", params)
        plotted = cli("sparse-sweep", "permutation", "--lengths", "16,32", "--methods", "poly",
                      "--plot", png, "--json", "-")
    finally:
        os.umask(old)
    assert saved.exit_code == 0 and plotted.exit_code == 0, saved.output + plotted.output
    for path in (params, png):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert f"parameters saved: {params}  (X, W_Q, W_K at d = " in saved.stdout
    assert f"plot saved: {png}\n" in plotted.stderr  # stdout holds the JSON
    assert json.loads(plotted.stdout)["family"] == "permutation"


def test_a_model_that_prints_leaves_json_on_stdout_valid(cli: Cli, hostile: Path) -> None:
    r = cli("equivariance", hostile / "printer.py:f", *SPEC, "--json", "-")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["verdict"] == "pass"
    assert "hello from import" in r.stderr and "hello from call" in r.stderr


def test_a_model_writing_to_file_descriptor_1_leaves_json_on_stdout_valid(
    tmp_path: Path
) -> None:
    """Below print: os.write(1, …) and a child process at import and in the call (as C
    extensions and subprocesses write) go to stderr too; the JSON on stdout parses."""
    model = tmp_path / "fd_writer.py"
    model.write_text(textwrap.dedent("""
        import os, subprocess, sys
        os.write(1, b"fd write at import\\n")
        subprocess.run([sys.executable, "-c", "print('child at import')"], check=True)

        def f(x):
            os.write(1, b"fd write in call\\n")
            return 2 * x
    """))
    r = subprocess.run([sys.executable, "-m", "symcheck", "equivariance", str(model), *SPEC,
                        "--json", "-"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] == "pass"
    assert "fd write at import" in r.stderr and "child at import" in r.stderr
    assert "fd write in call" in r.stderr


@pytest.mark.parametrize("model", [
    # replaces symcheck's alarm handler, then loops: the watchdog ends the run
    "import signal\n\ndef f(x):\n    signal.signal(signal.SIGALRM, lambda *a: None)\n"
    "    while True:\n        pass\n",
    # ignores SIGALRM from import on
    "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n\ndef f(x):\n"
    "    while True:\n        pass\n",
])
def test_timeout_holds_against_a_model_that_disarms_it(tmp_path: Path, model: str) -> None:
    path = tmp_path / "disarms.py"
    path.write_text(model)
    r = subprocess.run([sys.executable, "-m", "symcheck", "equivariance", str(path), *SPEC,
                        "--timeout", "1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--timeout" in lines[0], r.stderr


def test_a_thread_the_model_leaves_running_does_not_hold_the_exit(tmp_path: Path) -> None:
    path = tmp_path / "spins.py"
    path.write_text("import threading, time\n\ndef _spin():\n    while True:\n"
                    "        time.sleep(0.01)\n\nthreading.Thread(target=_spin).start()\n\n"
                    "def f(x):\n    return 2 * x\n")
    r = subprocess.run([sys.executable, "-m", "symcheck", "equivariance", str(path), *SPEC,
                        "--json", "-"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] == "pass"


def test_a_later_failing_output_leaves_no_earlier_one(cli: Cli, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import symcheck.report.json

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(symcheck.report.json, "write_json", fail)
    r = cli("equivariance", POSITIONAL, "--save-counterexample", tmp_path / "case",
            "--json", tmp_path / "r.json")
    assert r.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_timeout_in_a_gate_is_that_checks_error(cli: Cli, hostile: Path) -> None:
    config = hostile / "gate.toml"
    config.write_text('[[check]]\nname = "hangs"\nmodel = "hang.py:f"\ninputs = ["n d"]\n'
                      'output = "n d"\ngroups = ["S(n)"]\nsizes = { n = 3, d = 2 }\ntimeout = 1\n'
                      '[[check]]\nname = "fine"\nmodel = "ok.py:f"\ninputs = ["n d"]\n'
                      'output = "n d"\ngroups = ["S(n)"]\nsizes = { n = 3, d = 2 }\n')
    r = cli("check", "--config", config, "--junit", hostile / "out" / "j.xml")
    assert r.exit_code == 1
    xml = (hostile / "out" / "j.xml").read_text()
    assert xml.count("<error") == 1 and "did not finish within 1 s" in xml
    assert 'name="fine"' in xml


def test_a_narrow_terminal_keeps_every_exponent() -> None:
    exe = Path(sys.executable).with_name("symcheck")
    script = f"stty cols 80; {exe} equivariance {POSITIONAL}"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    out = subprocess.run(["script", "-qc", script, "/dev/null"], capture_output=True,
                         text=True, timeout=120, env={**env, "TERM": "xterm"})
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.stdout)
    numbers = re.findall(r"\d\.\d\de[-+]\d\d", text)
    assert numbers, text
    assert "…" not in text, text


@pytest.mark.parametrize("make", ["coo", "mtx", "bomb"])
def test_small_files_declaring_huge_matrices_are_refused_before_allocating(
        cli: Cli, tmp_path: Path, make: str) -> None:
    import resource

    if make == "coo":
        path = tmp_path / "tiny_huge.npz"
        np.savez(path, format=np.array("coo"), shape=np.array([10**8, 10**8]),
                 row=np.arange(3), col=np.arange(3), data=np.ones(3))
    elif make == "mtx":
        path = tmp_path / "huge.mtx"
        path.write_text("%%MatrixMarket matrix coordinate real general\n"
                        "100000000 100000000 1\n1 1 1.0\n")
    else:
        path = tmp_path / "bomb.npz"
        np.savez_compressed(path, x=np.zeros((6000, 6000)))  # 288 MB from ~0.3 MB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = cli("sparse-approx", path, "--precision", "0.1")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1, r.output
    assert "declares 100,000,000 rows" in r.stderr or "store it sparse" in r.stderr
    assert grown_mb < 200, grown_mb
