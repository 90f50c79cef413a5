"""The verdict zoo: models whose verdict is known, run through the CLI on several seeds.

Every row is a model under ``tests/models/verdicts/`` (or a README sample), the options of the
command, and the exit code the mathematics demands (the model's docstring says why): planted
violations that Gaussian inputs never reach must exit 1, equivariant controls must exit 0 with
every probe on, precision cases must be judged by the model's own round-off, and a model that
ends or fakes the run must be the check's error (exit 2), never a verdict.

The rows hold the CLI's exit codes only, not its wording; the one text assertion (a
float32-internal model's PASS names float32 as the cause) is a requirement of the report.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import SAMPLES, CliResult, needs

MODELS = Path(__file__).resolve().parent / "models" / "verdicts"
HAS_TORCH = importlib.util.find_spec("torch") is not None
NEEDS_TORCH = pytest.mark.skipif(not HAS_TORCH,
                                 reason="torch is not installed (pip install '.[torch]')")
Cli = Callable[..., CliResult]

SEEDS = (0, 1, 2)
MORE_SEEDS = (0, 1, 2, 3, 4)  # where a check costs a few milliseconds
ALL_SEEDS = tuple(range(10))  # what the issue demands of a planted violation
PASS, FAIL, ERROR, INTERRUPTED = frozenset({0}), frozenset({1}), frozenset({2}), frozenset({130})
#: the integer token ids of the models that take ``input_ids``
TOKEN_IDS = ("--inputs", str(MODELS / "token_ids.npz"))


@dataclass(frozen=True)
class Row:
    """One command and the exit codes it may end with."""

    id: str
    target: str  # FILE[:NAME] under MODELS, or samples/FILE
    expect: frozenset[int]
    options: tuple[str, ...] = ()
    seeds: tuple[int, ...] = SEEDS
    torch: bool = False
    #: other optional packages the model imports (e3nn)
    extras: tuple[str, ...] = ()

    def path(self) -> str:
        if self.target.startswith("samples/"):
            return str(SAMPLES / self.target.removeprefix("samples/"))
        return str(MODELS / self.target)


ROWS = [
    # Planted violations off the Gaussian path: each must be found with default options.
    Row("dedup", "planted_dedup.py", FAIL, seeds=MORE_SEEDS),
    Row("zero-token-fallback", "planted_zero_token.py", FAIL, seeds=MORE_SEEDS),
    Row("axis-needle", "planted_axis_needle.py", FAIL, seeds=MORE_SEEDS),
    Row("chunked-n6", "planted_chunked.py", FAIL, seeds=MORE_SEEDS),
    Row("huge-clamp", "planted_clamp.py", FAIL, seeds=MORE_SEEDS),
    Row("rank-fallback", "planted_rank_fallback.py", FAIL, seeds=MORE_SEEDS),
    # a merge of tokens closer than 1e-3 or 1e-6 of ‖x‖: only the near-duplicate probes see it
    *(Row(f"near-dedup-{t}", f"planted_near_dedup.py:near_dedup_{t}", FAIL, seeds=ALL_SEEDS)
      for t in ("1e3", "1e6")),
    Row("near-dedup-1e3-float32", "planted_near_dedup.py:near_dedup_1e3", FAIL,
        ("--dtype", "float32")),
    # A probe's output as large as a typical one is judged in float16 and bfloat16 too.
    Row("one-hot-bump-float16", "planted_low_precision.py", FAIL, ("--dtype", "float16"),
        seeds=MORE_SEEDS, torch=True),
    Row("one-hot-bump-bfloat16", "planted_low_precision.py", FAIL, ("--dtype", "bfloat16"),
        seeds=MORE_SEEDS, torch=True),
    # Precision: judged against the model's own round-off, by the residual's structure.
    Row("softmax32-float64", "precision_softmax32.py", PASS, seeds=MORE_SEEDS),
    Row("softmax32-float32", "precision_softmax32.py", PASS, ("--dtype", "float32")),
    Row("position-1.5e-7-float64", "precision_position.py", FAIL, seeds=MORE_SEEDS),
    # float64 round-off amplified by cancellation on the ×1e-6 probe: a PASS, float32 unnamed
    Row("centring-float64", "precision_centring.py", PASS, seeds=MORE_SEEDS),
    # Each output on its own scale: forces ~1 next to an energy ~1e4.
    Row("force-field-1e-6-on-forces", "planted_force_field.py:planted_force_field", FAIL),
    Row("force-field", "planted_force_field.py:force_field", PASS),
    Row("encoder-float32", "torch_encoder.py:EncoderLayer", PASS, ("--dtype", "float32"),
        torch=True),
    Row("encoder-position-4.3e-5-float32", "torch_encoder.py:PositionEncoderLayer", FAIL,
        ("--dtype", "float32"), torch=True),
    # The model's own precision: float32 weights, float32 outputs, float32-built e3nn constants
    # judged at float32 (a planted violation ~100x above it fails); a float64 twin that cannot
    # run is a note, never the end of the check.
    Row("float32-module-float64", "precision_float32_module.py:Float32Attention", PASS,
        seeds=MORE_SEEDS, torch=True),
    Row("float32-module-planted-float64", "precision_float32_module.py:PlantedFloat32Attention",
        FAIL, seeds=MORE_SEEDS, torch=True),
    *(Row(f"token-ids-{name}", f"precision_token_ids.py:{name}", expect, TOKEN_IDS,
          seeds=MORE_SEEDS, torch=True)
      for name, expect in (("TokenEncoder", PASS), ("encode", PASS),
                           ("PlantedTokenEncoder", FAIL), ("encode_planted", FAIL))),
    Row("distilbert-token-ids", "precision_distilbert.py:model", PASS, TOKEN_IDS,
        seeds=MORE_SEEDS, torch=True, extras=("transformers",)),
    Row("distilbert-token-ids-planted", "precision_distilbert.py:planted", FAIL, TOKEN_IDS,
        seeds=MORE_SEEDS, torch=True, extras=("transformers",)),
    Row("e3nn-float32-built", "precision_e3nn.py:tensor_product", PASS, seeds=MORE_SEEDS,
        torch=True, extras=("e3nn",)),
    Row("e3nn-float32-built-cast", "precision_e3nn.py:cast_tensor_product", PASS,
        seeds=MORE_SEEDS, torch=True, extras=("e3nn",)),
    Row("e3nn-float32-built-planted", "precision_e3nn.py:planted", FAIL, seeds=MORE_SEEDS,
        torch=True, extras=("e3nn",)),
    Row("twin-fails-float32", "precision_twin.py:LearnedTemperature", PASS,
        ("--dtype", "float32"), seeds=MORE_SEEDS, torch=True),
    Row("jax-twin-collides-float32", "precision_jax_twin.py", PASS, ("--dtype", "float32"),
        extras=("jax",)),
    Row("twin-fails-position-bias-float32", "precision_twin.py:DynamicPositionBias", FAIL,
        ("--dtype", "float32"), torch=True),
    # Equivariant controls: must keep passing with every probe on, also at float32.
    Row("attention", "control_attention.py", PASS, seeds=MORE_SEEDS),
    Row("attention-float32", "control_attention.py", PASS, ("--dtype", "float32")),
    Row("normalise-nan-at-zero", "control_normalise.py:normalise", PASS, seeds=MORE_SEEDS),
    Row("normalise-raises-at-zero", "control_normalise.py:normalise_strict", PASS,
        seeds=MORE_SEEDS),
    Row("normalise-float32", "control_normalise.py:normalise", PASS, ("--dtype", "float32")),
    Row("mean-pool", "control_mean_pool.py", PASS, seeds=MORE_SEEDS),
    Row("mean-pool-float32", "control_mean_pool.py", PASS, ("--dtype", "float32")),
    Row("rmsnorm", "control_rmsnorm.py", PASS, seeds=MORE_SEEDS),
    Row("rmsnorm-float32", "control_rmsnorm.py", PASS, ("--dtype", "float32")),
    Row("attention-float16", "control_attention.py", PASS, ("--dtype", "float16")),
    Row("rmsnorm-float16", "control_rmsnorm.py", PASS, ("--dtype", "float16")),
    Row("torch-attention-bfloat16", "samples/torch_model.py", PASS, ("--dtype", "bfloat16"),
        torch=True),
    *(Row(f"weightless-attention-{dt}", "control_low_precision.py", PASS, ("--dtype", dt),
          seeds=MORE_SEEDS, torch=True) for dt in ("float16", "bfloat16")),
    Row("fixed-size", "control_fixed_size.py", PASS, seeds=MORE_SEEDS),
    # Declarations beyond labels (issue 20): positions as values, reversals, reverse-complement,
    # the dihedral group, a (*args, **kwargs) model given its inputs from a file.
    Row("knn-index", "declare_knn.py:knn", PASS, seeds=MORE_SEEDS),
    Row("knn-plain-values", "declare_knn.py:knn_plain", FAIL, seeds=MORE_SEEDS),
    Row("reverse-complement-conv", "declare_reverse_complement.py:rc_conv", PASS,
        seeds=MORE_SEEDS),
    Row("plain-conv-reverse-complement", "declare_reverse_complement.py:plain_conv", FAIL,
        seeds=MORE_SEEDS),
    Row("reversal-two-sided", "declare_reversal.py:two_sided", PASS, seeds=MORE_SEEDS),
    Row("reversal-causal", "declare_reversal.py:causal", FAIL, seeds=MORE_SEEDS),
    Row("dihedral-symmetric", "declare_reversal.py:circular_symmetric", PASS, seeds=MORE_SEEDS),
    Row("dihedral-asymmetric", "declare_reversal.py:circular_asymmetric", FAIL,
        seeds=MORE_SEEDS),
    Row("args-wrapper-inputs", "declare_args.py:wrapped", PASS,
        ("--inputs", str(MODELS / "declare_args_inputs.npz")), seeds=MORE_SEEDS),
    Row("edge-list-set", "declare_args.py:edges", PASS,
        ("--inputs", str(MODELS / "declare_args_inputs.npz")), seeds=MORE_SEEDS),
    # near-equal tokens cancel in a difference: the rounding of g·x, not a violation
    Row("directions", "control_directions.py", PASS, seeds=MORE_SEEDS),
    Row("directions-float32", "control_directions.py", PASS, ("--dtype", "float32")),
    Row("directions-float16", "control_directions.py", PASS, ("--dtype", "float16")),
    # The README samples keep their documented verdicts with probes on.
    Row("sample-attention", "samples/attention.py", PASS),
    Row("sample-pooling", "samples/pooling.py", PASS),
    Row("sample-learned-attention", "samples/learned_attention.py", FAIL),
    Row("sample-positional", "samples/positional.py", FAIL),
    Row("sample-chiral", "samples/chiral.py", FAIL),
    Row("sample-torch-model", "samples/torch_model.py", PASS, torch=True),
    # No faked verdicts: whatever the model does, the checker decides (or it is exit 2).
    Row("sys-exit-in-call", "fake_exit_call.py", ERROR, seeds=(0,)),
    Row("sys-exit-at-import", "fake_exit_import.py", ERROR, seeds=(0,)),
    Row("generator-exit", "fake_base_exception.py:generator_exit", ERROR, seeds=(0,)),
    Row("custom-base-exception", "fake_base_exception.py:custom_abort", ERROR, seeds=(0,)),
    Row("exit-after-first-call", "fake_base_exception.py:exit_after_first_call", ERROR,
        seeds=(0,)),
    Row("base-exception-at-import", "fake_import_base_exception.py", ERROR, seeds=(0,)),
    # compared as complex it fails, refused it is an error; cast to real it would pass
    Row("complex-output", "fake_complex.py", FAIL | ERROR, seeds=(0,)),
    Row("complex-output-torch", "fake_complex_torch.py", FAIL | ERROR, seeds=(0,), torch=True),
    # a real Ctrl-C (KeyboardInterrupt) still stops the run, with 130
    Row("keyboard-interrupt", "fake_interrupt.py", INTERRUPTED, seeds=(0,)),
    # --search with no number takes a default budget; the needle is found on every seed
    Row("search-default-attention", "control_attention.py", PASS, ("--search",), seeds=(0, 1)),
    Row("search-default-needle", "planted_axis_needle.py", FAIL, ("--search",),
        seeds=MORE_SEEDS),
    Row("search-default-dedup", "planted_dedup.py", FAIL, ("--search",), seeds=(0, 1)),
    # the search pulls two tokens together; a merge at 1e-6 is found without the probes, and
    # the ill-conditioned directions at the pairs it pulls together are not a violation
    Row("search-near-dedup-no-probes", "planted_near_dedup.py:near_dedup_1e6", FAIL,
        ("--search", "--no-probes"), seeds=(0, 1, 2)),
    Row("search-default-directions", "control_directions.py", PASS, ("--search",),
        seeds=(0, 1)),
    Row("search-50-attention", "control_attention.py", PASS, ("--search", "50"), seeds=(0,)),
    # a tolerance must be a finite number > 0: inf or nan would pass anything
    *(Row(f"rtol-{value}", "samples/learned_attention.py", ERROR, ("--rtol", value), seeds=(0,))
      for value in ("inf", "nan", "0", "-1", "-inf")),
    Row("rtol-inf-on-control", "control_attention.py", ERROR, ("--rtol", "inf"), seeds=(0,)),
]


def _cases() -> Iterator[object]:
    for row in ROWS:
        marks = [NEEDS_TORCH] if row.torch else []
        marks += [needs(extra) for extra in row.extras]
        for seed in row.seeds:
            yield pytest.param(row, seed, id=f"{row.id}-seed{seed}", marks=marks)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Torch with one thread: on a busy two-core machine its thread pool spins and a d = 256
    layer call takes 0.1 s instead of 2 ms. Restored afterwards."""
    if not HAS_TORCH:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run(cli: Cli, *args: str) -> CliResult:
    """``cli(*args)``, but a BaseException that escapes the CLI is this test's failure (the
    fixture catches SystemExit only, and an escaping KeyboardInterrupt would stop pytest)."""
    try:
        return cli(*args)
    except BaseException as exc:
        pytest.fail(f"{type(exc).__name__}({exc}) escaped `symcheck {' '.join(args)}`: the CLI "
                    "must turn it into an exit code", pytrace=False)


def describe(r: CliResult, limit: int = 2000) -> str:
    text = r.output.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize(("row", "seed"), list(_cases()))
def test_verdict(cli: Cli, row: Row, seed: int) -> None:
    r = run(cli, "equivariance", row.path(), "--seed", str(seed), *row.options)
    assert r.exit_code in row.expect, (
        f"`symcheck equivariance {row.target} --seed {seed} {' '.join(row.options)}` exited "
        f"{r.exit_code}, expected {' or '.join(map(str, sorted(row.expect)))}:\n{describe(r)}")
    if r.exit_code == 2:  # an error is one line, never a traceback
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.output


def test_float32_internal_pass_names_its_cause(cli: Cli) -> None:
    """The PASS of a model computing in float32 internally, in a float64 check, carries a
    note naming the cause; only the word float32 is asserted."""
    r = run(cli, "equivariance", str(MODELS / "precision_softmax32.py"))
    assert r.exit_code == 0, describe(r)
    assert "float32" in r.output.lower(), describe(r)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize(("target", "options", "named"), [
    # float32 weights whose rounding the symmetry does not depend on: measured, and the
    # float64 floor stands (the residual they can move is round-off)
    pytest.param("precision_float32_module.py:Float32Attention", (),
                 "its parameters are float32, but re-rounding them at their resolution moves the "
                 "equivariance residual by ρ = ", id="float32-weights"),
    pytest.param("precision_token_ids.py:TokenEncoder", TOKEN_IDS,
                 "its parameters are float32, but re-rounding them at their resolution moves the "
                 "equivariance residual by ρ = ", id="token-ids-module"),
    pytest.param("precision_e3nn.py:tensor_product", (),
                 "its parameters are float32: judged at float32, ρ = ", id="e3nn-float32",
                 marks=needs("e3nn")),
    pytest.param("precision_token_ids.py:encode", TOKEN_IDS,
                 "its outputs are float32: judged at float32, tolerance 1.0e-06",
                 id="token-ids-function"),
    pytest.param("precision_e3nn.py:cast_tensor_product", (),
                 "float64 parameter tensors hold float32-rounded values", id="e3nn-cast",
                 marks=needs("e3nn")),
    pytest.param("precision_twin.py:LearnedTemperature", ("--dtype", "float32"),
                 "the float64 twin could not run (RuntimeError: mat1 and mat2 must have the "
                 "same dtype", id="twin-fails"),
])
@NEEDS_TORCH
def test_own_precision_is_named(cli: Cli, target: str, options: tuple[str, ...],
                                named: str) -> None:
    """A PASS judged at the model's own precision says which precision and why; a twin that
    cannot run says so. The planted twins of these models fail (the rows above)."""
    r = run(cli, "equivariance", str(MODELS / target), *options)
    assert r.exit_code == 0, describe(r)
    assert named in " ".join(r.output.split()), describe(r)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_small_output_failure_names_it(cli: Cli, seed: int) -> None:
    """Forces with a 1e-6 relative violation next to an energy of 1e4: the ✗ line names the
    forces output and counts at least one of its elements as differing."""
    r = run(cli, "equivariance", str(MODELS / "planted_force_field.py:planted_force_field"),
            "--seed", str(seed))
    assert r.exit_code == 1, describe(r)
    failures = [line for line in r.output.splitlines() if line.startswith("✗")]
    assert failures and all("output 1 (forces): relative error" in f for f in failures), \
        describe(r)
    assert not any(" 0/" in f for f in failures), describe(r)


@pytest.mark.parametrize("seed", SEEDS)
def test_cancellation_pass_does_not_claim_float32(cli: Cli, seed: int) -> None:
    """A pure float64 model whose round-off is amplified on the ×1e-6 probe passes with a note
    that says so, and no word of float32, which it never computes in."""
    r = run(cli, "equivariance", str(MODELS / "precision_centring.py"), "--seed", str(seed))
    assert r.exit_code == 0, describe(r)
    assert "float32" not in r.output.lower(), describe(r)
    assert "equivariant to the model's own precision" in r.output, describe(r)


# --- the config gate ---------------------------------------------------------------------------


def _check(name: str, model: str, groups: str, inputs: str = '["n d"]',
           sizes: str = "{ n = 6, d = 8 }", extra: str = "") -> str:
    """One ``[[check]]`` table of a symcheck.toml (paths are absolute: no copying)."""
    return textwrap.dedent(f"""
        [[check]]
        name = "{name}"
        model = '{model}'
        inputs = {inputs}
        output = "n d"
        groups = {groups}
        sizes = {sizes}
        {extra}
    """)


def test_gate_reports_exiting_models_as_errors_and_runs_the_rest(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model that calls sys.exit(0) (or raises GeneratorExit) is that check's <error>; the
    checks after it still run; the broken one is a <failure>; the gate exits 1."""
    (tmp_path / "symcheck.toml").write_text(
        _check("exits", f"{MODELS / 'fake_exit_call.py'}:exits", '["S(n)"]')
        + _check("generator-exit", f"{MODELS / 'fake_base_exception.py'}:generator_exit",
                 '["S(n)"]')
        + _check("broken", f"{SAMPLES / 'positional.py'}:positional_attention", '["S(n)"]',
                 sizes="{ n = 8, d = 16 }")
        + _check("passes", f"{MODELS / 'control_attention.py'}:attention", '["O(d)", "S(n)"]')
    )
    monkeypatch.chdir(tmp_path)
    r = run(cli, "check", "--junit", "out.xml")
    assert r.exit_code == 1, describe(r)
    suite = ET.parse(tmp_path / "out.xml").getroot().find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["exits", "generator-exit", "broken", "passes"], describe(r)
    for name in ("exits", "generator-exit"):
        assert cases[name].find("error") is not None, f"{name}: no <error> in the JUnit"
        assert cases[name].find("failure") is None
    assert cases["broken"].find("failure") is not None
    assert cases["broken"].find("error") is None
    assert cases["passes"].find("failure") is None and cases["passes"].find("error") is None


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "0", "-1", "0.0"])
def test_gate_refuses_a_non_finite_or_non_positive_rtol(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """The config's rtol obeys the rule of --rtol (learned_attention's O(d) error is ~2)."""
    (tmp_path / "symcheck.toml").write_text(
        _check("learned", f"{SAMPLES / 'learned_attention.py'}:learned_attention", '["O(d)"]',
               inputs='["n d", "m d"]', sizes="{ n = 8, m = 4, d = 16 }",
               extra=f"rtol = {value}"))
    monkeypatch.chdir(tmp_path)
    r = run(cli, "check")
    assert r.exit_code == 2, describe(r)


# --- the zoo checks itself ------------------------------------------------------------------------
# Independently of symcheck, in plain numpy: each planted violation is invisible on Gaussian
# inputs and large at its trigger, each control is equivariant at every trigger, and the
# precision cases have the sizes and the residual structure the docs quote.

Array = np.ndarray


def load(target: str) -> Callable[..., Any]:
    file, _, name = target.partition(":")
    spec = importlib.util.spec_from_file_location(f"zoo_{Path(file).stem}", MODELS / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(MODELS))  # as symcheck imports a model: its folder (_zoo.py) importable
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(MODELS))
    if name:
        return getattr(module, name)
    (fn,) = (v for v in vars(module).values() if hasattr(v, "__symcheck__"))
    return fn


def haar(rng: np.random.Generator, d: int) -> Array:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def rotation_error(f: Callable[[Array], Array], x: Array, q: Array) -> float:
    """‖f(x Qᵀ) − f(x) Qᵀ‖ / ‖f(x)‖."""
    fx = f(x)
    return float(np.linalg.norm(f(x @ q.T) - fx @ q.T) / np.linalg.norm(fx))


def permutation_error(f: Callable[[Array], Array], x: Array, p: Array) -> float:
    fx = f(x)
    return float(np.linalg.norm(f(x[p]) - fx[p]) / np.linalg.norm(fx))


def _gaussian(rng: np.random.Generator, n: int, d: int) -> Array:
    return rng.standard_normal((n, d))


def _repeated(rng: np.random.Generator, n: int, d: int) -> Array:
    x = rng.standard_normal((n, d))
    x[3] = x[1]
    return x


def _zero(rng: np.random.Generator, n: int, d: int) -> Array:
    x = rng.standard_normal((n, d))
    x[2] = 0.0
    return x


def _one_hot(rng: np.random.Generator, n: int, d: int) -> Array:
    x = rng.standard_normal((n, d))
    x[4] = 0.0
    x[4, 2] = 1.0
    return x


def _tiny(rng: np.random.Generator, n: int, d: int) -> Array:
    return 1e-6 * rng.standard_normal((n, d))


def _huge(rng: np.random.Generator, n: int, d: int) -> Array:
    return 1e6 * rng.standard_normal((n, d))


def _rank_one(rng: np.random.Generator, n: int, d: int) -> Array:
    return np.outer(rng.standard_normal(n), rng.standard_normal(d))


TRIGGERS: dict[str, Callable[[np.random.Generator, int, int], Array]] = {
    "repeated": _repeated, "zero": _zero, "one-hot": _one_hot, "tiny": _tiny, "huge": _huge,
    "rank-one": _rank_one,
}


def worst_errors(f: Callable[[Array], Array], make: Callable[..., Array], n: int = 6,
                 d: int = 8, draws: int = 8, seed: int = 0) -> tuple[float, float]:
    """The worst O(d) and S(n) errors over ``draws`` inputs from ``make`` (Haar Q, uniform
    permutations that are not the identity)."""
    rng = np.random.default_rng(seed)
    rot = perm = 0.0
    for _ in range(draws):
        x = make(rng, n, d)
        p = rng.permutation(n)
        while n > 1 and np.array_equal(p, np.arange(n)):
            p = rng.permutation(n)
        rot = max(rot, rotation_error(f, x, haar(rng, d)))
        perm = max(perm, permutation_error(f, x, p))
    return rot, perm


#: planted model -> (triggers that must break O(d), triggers that must break S(n))
PLANTED = {
    "planted_dedup.py": ({"repeated"}, {"repeated"}),
    "planted_zero_token.py": ({"zero", "tiny"}, set()),
    "planted_axis_needle.py": ({"one-hot"}, set()),
    "planted_clamp.py": ({"huge"}, set()),
    "planted_rank_fallback.py": ({"repeated", "zero", "rank-one"}, set()),
}


@pytest.mark.parametrize("target", sorted(PLANTED))
def test_planted_violation_is_off_the_gaussian_path_and_large_at_its_trigger(
        target: str) -> None:
    f = load(target)
    rot, perm = worst_errors(f, _gaussian, draws=50)
    assert rot < 1e-12 and perm < 1e-12, (target, rot, perm)
    breaks_rot, breaks_perm = PLANTED[target]
    for trigger, make in TRIGGERS.items():
        rot, perm = worst_errors(f, make)
        assert (rot > 1e-2) == (trigger in breaks_rot), (target, trigger, "O(d)", rot)
        assert (perm > 1e-2) == (trigger in breaks_perm), (target, trigger, "S(n)", perm)


def test_chunked_attention_breaks_s_n_exactly_above_its_chunk() -> None:
    f = load("planted_chunked.py")
    for n in (1, 2, 6, 8, 9, 25):
        rot, perm = worst_errors(f, _gaussian, n=n, draws=20)
        assert rot < 1e-12, (n, rot)
        assert (perm > 1e-2) == (n > 8), (n, perm)


@pytest.mark.parametrize("target", ["control_attention.py", "control_rmsnorm.py",
                                    "control_normalise.py:normalise_strict",
                                    "control_fixed_size.py"])
def test_control_is_equivariant_at_every_trigger(target: str) -> None:
    f = load(target)
    for trigger, make in {"gaussian": _gaussian, **TRIGGERS}.items():
        if trigger == "zero" and "normalise" in target:
            with pytest.raises(ValueError):
                f(make(np.random.default_rng(0), 6, 8))
            continue
        rot, perm = worst_errors(f, make)
        assert rot < 1e-12 and perm < 1e-12, (target, trigger, rot, perm)


def test_mean_pool_is_invariant_and_equivariant_at_every_trigger() -> None:
    f = load("control_mean_pool.py")
    rng = np.random.default_rng(0)
    for make in (_gaussian, *TRIGGERS.values()):
        x = make(rng, 6, 8)
        q, p = haar(rng, 8), rng.permutation(6)
        mean, second = f(x)
        rot_mean, rot_second = f(x @ q.T)
        scale = np.hypot(np.linalg.norm(mean), np.linalg.norm(second))  # both outputs' norm
        assert np.linalg.norm(rot_mean - mean @ q.T) <= 1e-12 * scale
        assert np.linalg.norm(rot_second - q @ second @ q.T) <= 1e-12 * scale
        perm_mean, perm_second = f(x[p])
        assert np.linalg.norm(perm_mean - mean) <= 1e-12 * scale
        assert np.linalg.norm(perm_second - second) <= 1e-12 * scale


def permuting(p: Array) -> Callable[[Array], Array]:
    return lambda y: y[p]


def rotating(q: Array) -> Callable[[Array], Array]:
    return lambda y: y @ q.T


def residual_correlation(f: Callable[[Array], Array], x: Array, g: Callable[[Array], Array],
                         delta: float, rng: np.random.Generator) -> float:
    """Correlation of r(x) = f(g·x) − g·f(x) with r at x perturbed by ``delta`` relative."""
    x1 = x + delta * np.sqrt(np.mean(x**2)) * rng.standard_normal(x.shape)
    r0, r1 = f(g(x)) - g(f(x)), f(g(x1)) - g(f(x1))
    return float(np.sum(r0 * r1) / (np.linalg.norm(r0) * np.linalg.norm(r1)))


def test_precision_cases_have_the_sizes_and_structure_quoted() -> None:
    """float32 softmax: S(n) error ~1e-7 that decorrelates under a 1e-5 perturbation; the
    position term: ~1.5e-7 that stays perfectly correlated at every perturbation size."""
    rng = np.random.default_rng(0)
    soft, position = load("precision_softmax32.py"), load("precision_position.py")
    errors, corr = [], []
    for _ in range(20):
        x, p = rng.standard_normal((8, 16)), rng.permutation(8)
        errors.append(permutation_error(soft, x, p))
        corr.append(residual_correlation(soft, x, permuting(p), 1e-5, rng))
    assert 1e-8 < np.median(errors) < 1e-6, errors
    assert abs(np.median(corr)) < 0.3, corr
    for delta in (1e-9, 1e-7, 1e-5, 1e-4):
        errors, corr = [], []
        for _ in range(10):
            x, p, q = rng.standard_normal((6, 8)), rng.permutation(6), haar(rng, 8)
            errors.append(permutation_error(position, x, p))
            corr.append(residual_correlation(position, x, permuting(p), delta, rng))
            corr.append(residual_correlation(position, x, rotating(q), delta, rng))
        assert 5e-8 < np.median(errors) < 3e-7, errors
        assert min(corr) > 0.999, (delta, corr)


@NEEDS_TORCH
@pytest.mark.usefixtures("one_torch_thread")
def test_encoder_layers_have_the_round_off_and_violation_quoted() -> None:
    """At float32 the clean layer's round-off rho (float32 against float64) is ~1e-7 and its
    S(n) error is of that size; the position layer's S(n) error is ~4.3e-5, hundreds of rho."""
    import copy

    import torch

    rng = np.random.default_rng(0)
    for name, low, high in (("EncoderLayer", 0.0, 1e-6), ("PositionEncoderLayer", 3e-5, 6e-5)):
        layer = load(f"torch_encoder.py:{name}")().eval()
        l32, l64 = copy.deepcopy(layer).float(), copy.deepcopy(layer).double()
        with torch.no_grad():
            x = torch.from_numpy(rng.standard_normal((64, 256)))
            p = torch.from_numpy(rng.permutation(64))
            y64 = l64(x)
            rho = float((l32(x.float()).double() - y64).norm() / y64.norm())
            y32 = l32(x.float()).double()
            error = float((l32(x.float()[p]).double() - y32[p]).norm() / y32.norm())
        assert 2e-8 < rho < 1e-6, (name, rho)
        assert low <= error < high, (name, error)


@pytest.mark.parametrize("where", ["call", "import"])
def test_a_model_calling_os_exit_is_the_checks_error(tmp_path: Path, where: str) -> None:
    """os._exit(0) in the call or at import is exit 2, never a silent 0; in a gate it is that
    check's <error> and the gate still writes its report. In a child process: were the guard
    to fail, os._exit(0) would end this test run itself with 0."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SYMCHECK_TEST_EXIT_AT_IMPORT": "1" if where == "import" else ""}
    r = subprocess.run([sys.executable, "-m", "symcheck", "equivariance",
                        str(MODELS / "fake_os_exit.py")], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "os._exit(0)" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    (tmp_path / "symcheck.toml").write_text(
        _check("os-exit", f"{MODELS / 'fake_os_exit.py'}:exits", '["S(n)"]')
        + _check("passes", f"{MODELS / 'control_attention.py'}:attention", '["S(n)"]'))
    gate = subprocess.run([sys.executable, "-m", "symcheck", "check", "--junit", "out.xml"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert gate.returncode == 1, (gate.returncode, gate.stdout, gate.stderr)
    suite = ET.parse(tmp_path / "out.xml").getroot().find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["os-exit"].find("error") is not None
    assert cases["passes"].find("error") is None and cases["passes"].find("failure") is None
