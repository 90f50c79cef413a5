"""The declarations beyond labels: positions as values (``index(n)``), unordered axes
(``set``), complemented channels (``complement(…)``) and ``(*args, **kwargs)`` models, checked
against explicit computations and through every door (decorator, CLI, config, Python API)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import symcheck
from symcheck.core.errors import InputFileError
from symcheck.core.groups import Permutations, parse_group
from symcheck.core.signature import parse_specs
from symcheck.core.specs import AxisSpec
from symcheck.engine.evaluate import act, in_order
from symcheck.sources.inputs import load_inputs
from symcheck.sources.python import by_position
from tests.conftest import CliResult, check_table

Cli = Callable[..., CliResult]
MODELS = Path(__file__).resolve().parent / "models" / "verdicts"


def knn(x: np.ndarray, k: int = 3) -> np.ndarray:
    dist = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    return np.argsort(dist, axis=1)[:, :k]


@pytest.mark.parametrize("seed", range(5))
def test_index_relabels_like_an_explicit_knn(seed: int) -> None:
    """``g·f(x)`` for ``n k:index(n)`` is ``f(g·x)`` for the kNN computed on the permuted
    tokens: rows move and the positions they hold are renamed (the direction p⁻¹)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((9, 3))
    group = parse_group("S(n)", {"n": 9})
    element = group.sample_one(rng)
    moved = act(AxisSpec.parse("n d"), x, [(group, element)])
    relabelled = act(AxisSpec.parse("n k:index(n)"), knn(x), [(group, element)])
    np.testing.assert_array_equal(relabelled, knn(moved))
    plain = act(AxisSpec.parse("n k"), knn(x), [(group, element)])
    assert not np.array_equal(plain, knn(moved))  # plain values: rows move, numbers stay


def test_index_on_a_rank_axis_and_out_of_range_values() -> None:
    """An argsort's axis is ranks (no group moves it): only the values change; a -1 (padding)
    is no position and stays."""
    x = np.array([0.3, -1.0, 2.0, 0.1])
    perm = np.array([2, 0, 3, 1])
    group = parse_group("S(n)", {"n": 4})
    relabelled = act(AxisSpec.parse("r:index(n)"), np.argsort(x), [(group, Permutations(perm))])
    np.testing.assert_array_equal(relabelled, np.argsort(x[perm]))
    padded = act(AxisSpec.parse("e:index(n)"), np.array([-1, 2]), [(group, Permutations(perm))])
    np.testing.assert_array_equal(padded, [-1, 0])


def test_complement_is_the_reverse_complement_of_dna() -> None:
    """Under the reversal, ``n c:complement(3,2,1,0)`` reads ACGT one-hot DNA backwards with
    each base complemented; under a rotation of C(n) or the identity it is untouched."""
    bases = "ACGT"
    seq = "AACGTG"
    onehot = np.eye(4)[[bases.index(b) for b in seq]]
    group = parse_group("R(n)", {"n": len(seq)})
    rev = Permutations(np.arange(len(seq))[::-1].copy())
    spec = AxisSpec.parse("n c:complement(3,2,1,0)")
    out = act(spec, onehot, [(group, rev)])
    complement = {"A": "T", "C": "G", "G": "C", "T": "A"}
    expected = "".join(complement[b] for b in reversed(seq))
    assert "".join(bases[i] for i in out.argmax(axis=1)) == expected
    np.testing.assert_array_equal(act(spec, onehot, [(group, group.identity())]), onehot)
    cyclic = parse_group("C(n)", {"n": len(seq)})
    shifted = act(spec, onehot, [(cyclic, Permutations(np.roll(np.arange(len(seq)), 1)))])
    np.testing.assert_array_equal(shifted, np.roll(onehot, 1, axis=0))  # x[p(i)], no complement


def test_set_axis_compares_rows_in_sorted_order() -> None:
    spec = AxisSpec.parse("e:set two:index(n)")
    a = np.array([[[2, 0], [0, 1], [1, 1]]])
    b = np.array([[[1, 1], [2, 0], [0, 1]]])
    np.testing.assert_array_equal(in_order(spec, a), in_order(spec, b))
    assert not np.array_equal(in_order(AxisSpec.parse("e two"), a),
                              in_order(AxisSpec.parse("e two"), b))


def _knn_model(x: np.ndarray) -> np.ndarray:
    return knn(x)


@pytest.mark.parametrize(("output", "groups", "verdict"), [
    ("n k:index(n)", ["S(n)"], "pass"),
    ("n k", ["S(n)"], "fail"),
    ("n k:index(n)", ["D(n)"], "pass"),
    ("n k:index(n)", ["R(n)"], "pass"),
])
def test_python_api_takes_the_new_declarations(output: str, groups: list[str],
                                               verdict: str) -> None:
    r = symcheck.check_equivariance(_knn_model, "n d", output, groups, {"n": 7, "d": 3})
    assert r.groups[0].verdict.value == verdict


def test_config_door_takes_the_new_declarations(cli: Cli, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``[[check]]`` of the config gate declares R(n) and a complemented channel."""
    target = f"{MODELS / 'declare_reverse_complement.py'}"
    spec = "n c:complement(3,2,1,0)"
    (tmp_path / "symcheck.toml").write_text("".join(
        check_table(name, f"{target}:{fn}", inputs=[spec], output=spec, groups=["R(n)"],
                    sizes={"n": 10})
        for name, fn in (("rc", "rc_conv"), ("plain", "plain_conv"))))
    monkeypatch.chdir(tmp_path)
    r = cli("check", "--only", "rc")
    assert r.exit_code == 0, r.output
    r = cli("check", "--only", "plain")
    assert r.exit_code == 1, r.output


def _dense(x: np.ndarray, adj: np.ndarray, /) -> np.ndarray:
    return adj @ np.tanh(x)


def wrapper(*args: np.ndarray, **kwargs: object) -> np.ndarray:
    return _dense(*args)


def test_args_models_bind_by_position() -> None:
    assert by_position(wrapper, parse_specs(["x=n d", "adj=n n"], "inputs"))
    # unnamed inputs go by position anyway
    assert not by_position(wrapper, parse_specs(["n d", "n n"], "inputs"))
    assert not by_position(_dense, parse_specs(["x=n d", "adj=n n"], "inputs"))
    rng = np.random.default_rng(0)
    x, adj = rng.standard_normal((5, 3)), (rng.random((5, 5)) < 0.4).astype(np.int8)
    r = symcheck.check_equivariance(wrapper, ["x=n d", "adj=n n"], "n d", ["S(n)"],
                                    data=[x, adj])
    assert r.groups[0].verdict.value == "pass"


def test_args_model_inputs_from_a_file(tmp_path: Path) -> None:
    """The ``--inputs`` arrays are matched by the ``NAME=`` names (in any file order); a file
    that names none of them says how to name them."""
    rng = np.random.default_rng(1)
    path = tmp_path / "in.npz"
    np.savez(path, adj=np.eye(4), x=rng.standard_normal((4, 2)))
    got = load_inputs(path, wrapper, parse_specs(["x=n d", "adj=n n"], "inputs"))
    assert [a.shape for a in got] == [(4, 2), (4, 4)]
    lone = tmp_path / "lone.npz"
    np.savez(lone, features=rng.standard_normal((4, 2)))
    with pytest.raises(InputFileError, match=r"takes \*args: name each input"):
        load_inputs(lone, wrapper, parse_specs(["n d", "n n"], "inputs"))


def test_args_model_through_the_cli(cli: Cli) -> None:
    r = cli("equivariance", f"{MODELS / 'declare_args.py'}:wrapped", "--inputs",
            str(MODELS / "declare_args_inputs.npz"))
    assert r.exit_code == 0, r.output
    r = cli("equivariance", f"{MODELS / 'declare_args.py'}:edges", "--inputs",
            str(MODELS / "declare_args_inputs.npz"))
    assert r.exit_code == 0 and "equivariant under S(n)" in r.output, r.output


class _Module:
    """A module as torch makes one: a ``(*args, **kwargs)`` ``__call__`` around ``forward``."""

    def __init__(self, forward: Callable[..., np.ndarray]) -> None:
        self.forward = forward

    def __call__(self, *args: np.ndarray, **kwargs: np.ndarray) -> np.ndarray:
        return self.forward(*args, **kwargs)


def test_a_module_is_bound_by_its_forward() -> None:
    """Keyword inputs of a module whose ``forward`` names them stay keywords (HuggingFace's
    ``input_ids=``); a ``forward(*args, **kwargs)`` takes them by position."""
    assert not by_position(_Module(_dense), parse_specs(["x=n d", "adj=n n"], "inputs"))
    assert by_position(_Module(wrapper), parse_specs(["x=n d", "adj=n n"], "inputs"))
