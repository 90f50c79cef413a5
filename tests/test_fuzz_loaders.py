"""Every loader, fed mutated and random bytes, raises nothing but symcheck's own one-line
errors (issue: bad input, third round, "Hypothesis on every loader").

Each loader starts from a valid file of its format and Hypothesis flips, inserts, deletes
and truncates bytes (and, separately, feeds bytes after the format's magic). The budget per
loader is ``SYMCHECK_FUZZ_EXAMPLES`` (default 150 in the suite; the full run recorded in
benchmarks/RESULTS.md used 30,000)::

    SYMCHECK_FUZZ_EXAMPLES=30000 pytest tests/test_fuzz_loaders.py -p no:cacheprovider
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symcheck.core.errors import SymcheckError

EXAMPLES = int(os.environ.get("SYMCHECK_FUZZ_EXAMPLES", "150"))
ROOT = Path(__file__).resolve().parents[1]


def _npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.arange(6.0).reshape(2, 3), y=np.ones(3, dtype=np.int32))
    return buffer.getvalue()


def _npy_bytes() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.eye(3) + 1.0)
    return buffer.getvalue()


def _sparse_npz_bytes() -> bytes:
    import scipy.sparse as sp

    buffer = io.BytesIO()
    sp.save_npz(buffer, sp.csr_matrix(np.eye(4) + 0.5))
    return buffer.getvalue()


def _counterexample_bytes() -> bytes:
    meta = {"format": "symcheck-counterexample/1", "inputs": ["n d"], "outputs": ["n d"],
            "groups": ["S(n)"], "sizes": {"n": 3, "d": 2}, "dtype": "float64",
            "group": "S(n)", "case": "haar:0", "tolerance": 1e-9, "error": 0.5, "seed": 0,
            "model": "f"}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), input_0=np.ones((3, 2)),
             perm_0=np.array([1, 0, 2]))
    return buffer.getvalue()


MTX = b"%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1.0\n2 2 2.0\n3 3 1.5\n"
TOML = (b'[[check]]\nname = "a"\nmodel = "m.py:f"\ninputs = "n d"\noutput = "n d"\n'
        b'groups = "S(n)"\nsizes = { n = 3, d = 2 }\n')
PYPROJECT = b"[tool.symcheck]\n" + TOML.replace(b"[[check]]", b"[[tool.symcheck.check]]")
CONFIG_JSON = json.dumps({"model_type": "llama", "hidden_size": 32, "num_attention_heads": 4,
                          "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
                          "rope_parameters": {"rope_theta": 500.0, "rope_type": "default"},
                          "sliding_window": 4}).encode()


def _read_config(p: Path) -> object:
    from symcheck.sources.weights.files import read_config

    (p.parent / "config.json").write_bytes(p.read_bytes())
    return read_config(p.parent / "weights.npz")


def _loaders() -> list[tuple[str, str, bytes, Callable[[Path], object]]]:
    """(id, file name, a valid file, the loader)."""
    from symcheck.app.config import load_config
    from symcheck.app.counterexample import load as load_counterexample
    from symcheck.core.files import read_npz
    from symcheck.core.signature import parse_specs
    from symcheck.sources.inputs import load_inputs
    from symcheck.sparse.matrix_io import load_matrix
    from symcheck.sparse.params_io import load_params

    rows: list[tuple[str, str, bytes, Callable[[Path], object]]] = [
        ("npz", "a.npz", _npz_bytes(), lambda p: read_npz(p, "data")),
        ("inputs", "a.npz", _npz_bytes(), lambda p: load_inputs(p, lambda x, y: x,
                                                                 parse_specs(["n d", "d"],
                                                                             "inputs"))),
        ("counterexample", "ce.npz", _counterexample_bytes(), load_counterexample),
        ("params", "p.npz", _npz_bytes(), load_params),
        ("matrix-npy", "a.npy", _npy_bytes(), load_matrix),
        ("matrix-npz", "a.npz", _sparse_npz_bytes(), load_matrix),
        ("matrix-mtx", "a.mtx", MTX, load_matrix),
        ("symcheck-toml", "symcheck.toml", TOML, load_config),
        ("pyproject", "pyproject.toml", PYPROJECT, load_config),
        ("config-json", "raw.json", CONFIG_JSON, _read_config),
    ]
    try:
        import safetensors.numpy as stn

        from symcheck.sources.weights.files import load_safetensors

        blob = stn.save({"w": np.ones((2, 2), dtype=np.float32)})
        rows.append(("safetensors", "w.safetensors", blob, load_safetensors))
    except ModuleNotFoundError:  # the [weights] extra: its loader is fuzzed where installed
        pass
    return rows


LOADERS = _loaders()


@st.composite
def _mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "number"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete" and data:
            del data[at:at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
        elif op == "number":  # a digit run turned huge, negative or odd
            data[at:at] = draw(st.sampled_from([b"9" * 30, b"-1", b"1e400", b"nan", b"0"]))
    return bytes(data)


def _load(name: str, load: Callable[[Path], object], content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            load(path)
        except SymcheckError as exc:  # the contract: a named error the doors can word
            assert exc.worded()


@pytest.mark.parametrize(("name", "valid", "load"), [row[1:] for row in LOADERS],
                         ids=[row[0] for row in LOADERS])
def test_a_loader_raises_only_its_own_errors_on_mutated_files(name: str, valid: bytes,
                                                              load: Callable[[Path], object]
                                                              ) -> None:
    _load(name, load, valid)  # the valid file itself loads (or names why not)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(content=_mutated(valid))
    def mutated(content: bytes) -> None:
        _load(name, load, content)

    mutated()


@pytest.mark.parametrize(("name", "valid", "load"), [row[1:] for row in LOADERS],
                         ids=[row[0] for row in LOADERS])
def test_a_loader_raises_only_its_own_errors_on_random_bytes(name: str, valid: bytes,
                                                             load: Callable[[Path], object]
                                                             ) -> None:
    @settings(max_examples=max(EXAMPLES // 3, 20), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(body=st.binary(max_size=600))
    def random(body: bytes) -> None:
        _load(name, load, valid[:8] + body)  # past the magic, anything

    random()
