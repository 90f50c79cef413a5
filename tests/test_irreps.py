"""e3nn irreps axes: the syntax (no e3nn needed), the missing extra, and — with e3nn — the
matrices (orthogonal, a homomorphism of O(3), e3nn's own, float64 whatever torch's default
dtype, accurate near e3nn's gimbal lock), and verdicts that agree with e3nn's own
``assert_equivariant`` on tensor products, including a wrong parity."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from symcheck.api import check_equivariance
from symcheck.core.errors import MissingExtraError, SpecError
from symcheck.core.groups import Matrices, parse_group
from symcheck.core.irreps import parse_irreps, wigner_matrices
from symcheck.core.reps import representation
from symcheck.core.signature import Signature
from symcheck.core.specs import AxisSpec
from symcheck.engine.problem import resolve
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
IRREPS = "1x0e+1x1o+1x2e"
WRONG = "1x0e+1x1e+1x2e"  # the vector part declared even: a wrong parity
SEEDS = range(2)


# --- no e3nn needed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dim", "canonical"),
    [("1x0e+1x1o+1x2e", 9, "1x0e+1x1o+1x2e"), ("2x1o + 0e", 7, "2x1o+1x0e"),
     ("1y+2y", 8, "1x1o+1x2e"), ("3x0o", 3, "3x0o"), ("1x1o+0x2e", 3, "1x1o+0x2e")],
)
def test_irreps_syntax_and_dimension(text: str, dim: int, canonical: str) -> None:
    irreps = parse_irreps(text)
    assert irreps.dim == dim and str(irreps) == canonical
    spec = AxisSpec.parse(f"n c:irreps({text})")
    assert spec.shape({"n": 4, "c": 3}) == (4, dim)  # the label keeps c = 3
    assert str(spec) == f"n c:irreps({canonical})"


@pytest.mark.parametrize("text", ["1x1q", "x1o", "1x1", "1o+", "-1x1o", "1.5x1o", "0x1o"])
def test_malformed_irreps_are_spec_errors(text: str) -> None:
    with pytest.raises(SpecError) as info:
        AxisSpec.parse(f"n c:irreps({text})", "outputs")
    assert info.value.argument == "outputs"


def test_fixed_irreps_data_must_have_the_irreps_dimension() -> None:
    sig = Signature.parse(("n c:irreps(1x1o)",), ("n c:irreps(1x1o)",), ("SO(c)",), {"c": 3})
    with pytest.raises(SpecError, match="has dimension 3") as info:
        resolve(lambda x: x, sig, data=[np.zeros((4, 5))])
    assert info.value.argument == "data"


@pytest.fixture
def without_e3nn(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """e3nn made unimportable (``import e3nn`` raises ImportError), whether installed or not."""
    for name in [m for m in sys.modules if m == "e3nn" or m.startswith("e3nn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "e3nn", None)
    yield


def test_without_e3nn_one_error_names_the_extra(without_e3nn: None) -> None:
    sig = Signature.parse((f"n c:irreps({IRREPS})",), ("n c",), ("O(c)",), {"n": 4, "c": 3})
    with pytest.raises(MissingExtraError) as info:
        resolve(lambda x: x, sig)
    text = str(info.value)
    assert "needs e3nn" in text and "pip install 'symcheck[e3nn]'" in text
    assert "pip install '.[e3nn]'" in text


def test_without_e3nn_the_cli_exits_2_with_one_line(without_e3nn: None, cli: Cli,
                                                     tmp_path: Path) -> None:
    model = tmp_path / "m.py"
    model.write_text("def f(x):\n    return x\n")
    r = cli("equivariance", f"{model}:f", "--in", f"n c:irreps({IRREPS})", "--out",
            f"n c:irreps({IRREPS})", "--group", "O(c)", "--size", "n=4,c=3")
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "symcheck[e3nn]" in lines[0] and "Traceback" not in r.output


def test_an_engine_only_caller_gets_e3nn_without_importing_the_app() -> None:
    """Irreps axes need no import side effect: the core loads its source by name when a
    matrix is first needed (without e3nn, the missing-extra error; with it, the matrices)."""
    import subprocess

    code = ("import sys, numpy as np\n"
            "from symcheck.core.irreps import parse_irreps, wigner_matrices\n"
            "from symcheck.core.errors import MissingExtraError\n"
            "try:\n"
            f"    d = wigner_matrices(parse_irreps('{IRREPS}'), np.eye(3)[None])\n"
            "    print('matrices', d.shape)\n"
            "except MissingExtraError:\n"
            "    print('missing')\n"
            "print(sorted(m for m in sys.modules if m.startswith('symcheck.app')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300).stdout.splitlines()
    import importlib.util

    has_e3nn = importlib.util.find_spec("e3nn") is not None
    assert out == ["matrices (1, 9, 9)" if has_e3nn else "missing", "[]"]


# --- with e3nn ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def o3() -> Any:
    e3nn_o3 = pytest.importorskip("e3nn.o3", reason="e3nn is not installed (symcheck[e3nn])")
    return e3nn_o3


@contextmanager
def float64_default() -> Iterator[None]:
    """torch's default dtype float64 while e3nn builds a reference (or a module)."""
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def orthogonal(rng: np.random.Generator, count: int) -> np.ndarray:
    return parse_group("O(c)", {"c": 3}).sample(rng, count).matrices()


def test_d_is_orthogonal_a_homomorphism_and_exact_at_the_identity(o3: Any) -> None:
    rng = np.random.default_rng(0)
    irreps = parse_irreps(IRREPS)
    a, b = orthogonal(rng, 200), orthogonal(rng, 200)
    da, db, dab = (wigner_matrices(irreps, m) for m in (a, b, a @ b))
    assert da.shape == (200, 9, 9) and da.dtype == np.float64
    # 1e-11: e3nn builds D from torch.matrix_exp, accurate to ~1e-12 at some angles (measured)
    np.testing.assert_allclose(da @ da.transpose(0, 2, 1), np.broadcast_to(np.eye(9), da.shape),
                               atol=1e-11)
    np.testing.assert_allclose(dab, da @ db, atol=1e-11)  # D(ab) = D(a) D(b), reflections too
    np.testing.assert_array_equal(wigner_matrices(irreps, np.eye(3)[None])[0], np.eye(9))
    # parity: D(−I) = p on each irrep (0e: +1, 1o: −1, 2e: +1)
    np.testing.assert_allclose(wigner_matrices(irreps, -np.eye(3)[None])[0],
                               np.diag([1.0, -1, -1, -1, 1, 1, 1, 1, 1]), atol=1e-13)


def test_d_is_e3nns_own_matrix(o3: Any) -> None:
    import torch

    rng = np.random.default_rng(1)
    q = orthogonal(rng, 100)
    for text in (IRREPS, "2x1e+1x3o", "1x0o+1x4e"):
        ours = wigner_matrices(parse_irreps(text), q)
        with float64_default():
            theirs = o3.Irreps(text).D_from_matrix(torch.from_numpy(q)).numpy()
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_d_stays_accurate_where_e3nns_angles_are_ill_conditioned(o3: Any) -> None:
    """Rotations within 1e-12…1e-6 of a rotation about y (e3nn's β = acos(Q[1, 1]) ≈ 0):
    symcheck's D still satisfies the homomorphism against a well-conditioned factorisation."""
    import torch

    rng = np.random.default_rng(2)
    irreps = parse_irreps(IRREPS)
    generic = orthogonal(rng, 1)[0]
    if np.linalg.det(generic) < 0:
        generic = -generic
    with float64_default():
        d_generic = o3.Irreps(IRREPS).D_from_matrix(torch.from_numpy(generic)).numpy()
    for eps in (1e-6, 1e-8, 1e-10, 1e-12):
        angle = rng.uniform(0, 2 * np.pi)
        ry = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0],
                       [-np.sin(angle), 0, np.cos(angle)]])
        tilt = np.array([[1, 0, 0], [0, np.cos(eps), -np.sin(eps)], [0, np.sin(eps),
                                                                    np.cos(eps)]])
        q = ry @ tilt
        with float64_default():
            reference = o3.Irreps(IRREPS).D_from_matrix(torch.from_numpy(q @ generic.T)).numpy()
        np.testing.assert_allclose(wigner_matrices(irreps, q[None])[0], reference @ d_generic,
                                   atol=1e-11, err_msg=f"eps={eps}")


def test_d_is_float64_whatever_torchs_default_dtype(o3: Any) -> None:
    import torch

    rng = np.random.default_rng(3)
    q = orthogonal(rng, 20)
    irreps = parse_irreps("1x1o+1x2e+1x3o")
    exact = wigner_matrices(irreps, q)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        under_float32 = wigner_matrices(irreps, q + 0.0)  # not the memoised arrays
        assert torch.get_default_dtype() == torch.float32  # restored after the computation
    finally:
        torch.set_default_dtype(previous)
    assert under_float32.dtype == np.float64
    np.testing.assert_allclose(under_float32, exact, atol=1e-13)


def test_irreps_ignore_translations(o3: Any) -> None:
    rng = np.random.default_rng(4)
    e = parse_group("E(c)", {"c": 3}).sample(rng, 5)
    x = rng.standard_normal((5, 2, 9))
    rep = representation(f"irreps({IRREPS})")
    np.testing.assert_allclose(rep.act(e, x, 2), rep.act(Matrices(e.matrices()), x, 2),
                               atol=0)


@pytest.fixture(scope="module")
def tensor_product(o3: Any) -> Any:
    """``FullyConnectedTensorProduct(IRREPS ⊗ IRREPS → IRREPS)`` built in float64."""
    import torch

    with float64_default(), torch.random.fork_rng():
        torch.manual_seed(0)
        return o3.FullyConnectedTensorProduct(IRREPS, IRREPS, IRREPS)


def tp_verdict(model: Any, out: str, group: str, seed: int, inputs: str = IRREPS) -> str:
    r = check_equivariance(model, [f"b c:irreps({inputs})"] * 2, f"b c:irreps({out})",
                           [group], {"b": 3, "c": 3}, seed=seed, trials=6)
    return r.groups[0].verdict


@pytest.mark.parametrize("seed", SEEDS)
def test_tensor_product_passes_and_a_wrong_parity_fails(tensor_product: Any, seed: int) -> None:
    assert tp_verdict(tensor_product, IRREPS, "O(c)", seed) == "pass"
    assert tp_verdict(tensor_product, WRONG, "O(c)", seed) == "fail"
    assert tp_verdict(tensor_product, WRONG, "SO(c)", seed) == "pass"  # parity needs det −1


def test_verdicts_agree_with_e3nns_assert_equivariant(o3: Any, tensor_product: Any) -> None:
    import torch
    from e3nn.util.test import assert_equivariant

    def broken(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return tensor_product(x, y) + 0.01 * x.roll(1, dims=-1)

    def as_numpy(fn: Callable[..., Any]) -> Callable[..., np.ndarray]:
        return lambda x, y: fn(torch.from_numpy(x), torch.from_numpy(y)).detach().numpy()

    cases = [(tensor_product, IRREPS, True), (tensor_product, WRONG, False),
             (broken, IRREPS, False)]
    for fn, out, equivariant in cases:
        args = [o3.Irreps(IRREPS).randn(3, -1, dtype=torch.float64) for _ in range(2)]
        try:
            with float64_default():  # e3nn's D matrices are float32-accurate otherwise
                assert_equivariant(fn, args_in=args, irreps_in=[IRREPS, IRREPS],
                                   irreps_out=[out], tolerance=1e-9)
            e3nn_says = True
        except AssertionError:
            e3nn_says = False
        r = check_equivariance(as_numpy(fn), [f"b c:irreps({IRREPS})"] * 2, f"b c:irreps({out})",
                               ["O(c)"], {"b": 3, "c": 3}, seed=0, trials=6)
        assert e3nn_says == r.passed == equivariant, (out, e3nn_says, r.passed)


@pytest.mark.parametrize("seed", SEEDS)
def test_an_e3nn_cross_product_is_1e_and_axial(o3: Any, seed: int) -> None:
    """``1o ⊗ 1o → 1e`` is the cross product (up to a constant): even under parity, i.e. an
    axial vector in Cartesian coordinates; declared ``1o`` it fails O(3) and passes SO(3)."""
    import torch

    with float64_default():
        cross = o3.FullyConnectedTensorProduct("1x1o", "1x1o", "1x1e")

    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return cross(torch.from_numpy(a), torch.from_numpy(b)).detach().numpy()

    def verdict(inputs: str, out: str, group: str) -> str:
        r = check_equivariance(run, [f"n {inputs}"] * 2, f"n {out}", [group], {"n": 4, "c": 3},
                               seed=seed, trials=6)
        return r.groups[0].verdict

    assert verdict("c:irreps(1x1o)", "c:irreps(1x1e)", "O(c)") == "pass"
    assert verdict("c:irreps(1x1o)", "c:irreps(1x1o)", "O(c)") == "fail"
    assert verdict("c:irreps(1x1o)", "c:irreps(1x1o)", "SO(c)") == "pass"
    assert verdict("c", "c:axial", "O(c)") == "pass"  # e3nn's 1o basis is Cartesian here
    assert verdict("c", "c", "O(c)") == "fail"


@pytest.mark.parametrize("seed", SEEDS)
def test_spherical_harmonics_of_points_mix_cartesian_and_irreps_axes(o3: Any, seed: int) -> None:
    """Spherical harmonics of centred points: points in, irreps out, under E(3) × S(n); of
    uncentred points they are only O(3)-equivariant (a negative control for translations)."""
    import torch

    def harmonics(centre: bool) -> Callable[[np.ndarray], np.ndarray]:
        def fn(p: np.ndarray) -> np.ndarray:
            x = p - p.mean(axis=0, keepdims=True) if centre else p
            return o3.spherical_harmonics(IRREPS, torch.from_numpy(x), normalize=False).numpy()
        return fn

    def verdicts(fn: Callable[[np.ndarray], np.ndarray], groups: list[str]) -> set[str]:
        r = check_equivariance(fn, "n c:point", f"n c:irreps({IRREPS})", groups,
                               {"n": 5, "c": 3}, seed=seed, trials=6)
        return {g.verdict for g in r.groups}

    assert verdicts(harmonics(True), ["E(c)", "S(n)"]) == {"pass"}
    assert verdicts(harmonics(False), ["E(c)"]) == {"fail"}
    assert verdicts(harmonics(False), ["O(c)"]) == {"pass"}


def test_irreps_tags_with_spaces_on_the_command_line(o3: Any, cli: Cli, tmp_path: Path) -> None:
    model = tmp_path / "m.py"
    model.write_text("def f(x):\n    return 2.0 * x\n")
    spaced = "b c:irreps(1x0e + 1x1o + 1x2e)"
    r = cli("equivariance", f"{model}:f", "--in", spaced, "--out", spaced, "--group", "O(c)",
            "--size", "b=2,c=3")
    assert r.exit_code == 0, r.output
    assert re.search(r"replay|PASS", r.stdout)
