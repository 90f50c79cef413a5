"""Saved weights: reference forwards against the frameworks, the co-transform check, the CLI.

The reference forward of every layout must equal the framework's own forward on the same
weights to 1e-10 in float64 (torch ``nn.MultiheadAttention``; a BERT-style layer written in
torch). Torch tests are skipped, visibly, only when torch is not installed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from symcheck.sources.weights import LAYOUTS, Settings, build_layer, check_layer, check_weights
from symcheck.sources.weights import reference as ref
from symcheck.sources.weights.files import load_weights
from tests.conftest import SAMPLES, CliResult, installed, missing, needs

Cli = Callable[..., CliResult]
HAS_TORCH, HAS_SAFETENSORS = installed("torch"), installed("safetensors")
needs_torch, needs_safetensors = needs("torch"), needs("safetensors")
BERT = SAMPLES / "weights" / "bert" / "model.safetensors"
D, HEADS, FF, N = 12, 3, 20, 7
FAST = ("--trials", "3")


# --- writing weight files ------------------------------------------------------------------

def save(path: Path, sd: dict[str, np.ndarray]) -> Path:
    """Write a state dict in the format the suffix names."""
    if path.suffix == ".npz":
        np.savez(path, **sd)  # type: ignore[arg-type]
    elif path.suffix == ".safetensors":
        from safetensors.numpy import save_file

        save_file({k: np.ascontiguousarray(v) for k, v in sd.items()}, str(path))
    else:
        import torch

        torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}, path)
    return path


def bert_state(rng: np.random.Generator, prefix: str = "", d: int = D, ff: int = FF
               ) -> dict[str, np.ndarray]:
    sd: dict[str, np.ndarray] = {}
    for key, shape in (
        ("attention.self.query", (d, d)), ("attention.self.key", (d, d)),
        ("attention.self.value", (d, d)), ("attention.output.dense", (d, d)),
        ("intermediate.dense", (ff, d)), ("output.dense", (d, ff)),
    ):
        sd[f"{prefix}{key}.weight"] = rng.standard_normal(shape) / math.sqrt(shape[1])
        sd[f"{prefix}{key}.bias"] = 0.1 * rng.standard_normal(shape[0])
    for key in ("attention.output.LayerNorm", "output.LayerNorm"):
        sd[f"{prefix}{key}.weight"] = 1 + 0.2 * rng.standard_normal(d)
        sd[f"{prefix}{key}.bias"] = 0.1 * rng.standard_normal(d)
    return sd


def mha_state(rng: np.random.Generator, bias: bool = True) -> dict[str, np.ndarray]:
    sd = {"in_proj_weight": rng.standard_normal((3 * D, D)) / math.sqrt(D),
          "out_proj.weight": rng.standard_normal((D, D)) / math.sqrt(D)}
    if bias:
        sd |= {"in_proj_bias": 0.1 * rng.standard_normal(3 * D),
               "out_proj.bias": 0.1 * rng.standard_normal(D)}
    return sd


def layer_from(path: Path, layout: str, prefix: str = "", heads: int = HEADS) -> Any:
    return build_layer(LAYOUTS[layout], load_weights(path), prefix, heads)


# --- reference forwards == the frameworks' forwards ----------------------------------------

def _torch_mha(sd: dict[str, np.ndarray], bias: bool = True) -> Any:
    """``nn.MultiheadAttention`` in float64 holding the state dict ``sd``."""
    import torch

    mha = torch.nn.MultiheadAttention(D, HEADS, bias=bias, dtype=torch.float64)
    mha.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    return mha


def _torch_self_attention(mha: Any, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        t = torch.from_numpy(x)
        return np.asarray(mha(t, t, t, need_weights=False)[0].numpy())


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
def test_torch_mha_layout_equals_nn_multihead_attention(tmp_path: Path, bias: bool) -> None:
    import torch

    rng = np.random.default_rng(1)
    mha = _torch_mha(mha_state(rng, bias), bias)
    path = tmp_path / "mha.pt"
    torch.save(mha.state_dict(), path)
    x = rng.standard_normal((N, D))
    expected = _torch_self_attention(mha, x)
    got = ref.attention(x, layer_from(path, "torch-mha").params, HEADS)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@needs_torch
def test_plain_layout_equals_nn_multihead_attention(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    sd = mha_state(rng)
    mha = _torch_mha(sd)
    w = sd["in_proj_weight"]
    b = sd["in_proj_bias"]
    plain = {"W_Q": w[:D].T, "W_K": w[D:2 * D].T, "W_V": w[2 * D:].T,
             "W_O": sd["out_proj.weight"].T, "b_Q": b[:D], "b_K": b[D:2 * D], "b_V": b[2 * D:],
             "b_O": sd["out_proj.bias"]}
    path = save(tmp_path / "plain.npz", plain)
    x = rng.standard_normal((N, D))
    expected = _torch_self_attention(mha, x)
    got = ref.attention(x, layer_from(path, "plain").params, HEADS)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def _torch_bert_layer(d: int, heads: int, ff: int, eps: float) -> Any:
    """A BERT-style encoder layer in torch, with HuggingFace's module names."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.query, self.key, self.value = (nn.Linear(d, d) for _ in range(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[0]
            q, k, v = (f(x).view(n, heads, -1).transpose(0, 1)
                       for f in (self.query, self.key, self.value))
            return F.scaled_dot_product_attention(q, k, v).transpose(0, 1).reshape(n, d)

    class DenseNorm(nn.Module):
        def __init__(self, inp: int) -> None:
            super().__init__()
            self.dense = nn.Linear(inp, d)
            self.LayerNorm = nn.LayerNorm(d, eps=eps)

        def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
            return self.LayerNorm(self.dense(x) + residual)

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.self = SelfAttention()
            self.output = DenseNorm(d)

    class Intermediate(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dense = nn.Linear(d, ff)

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention = Attention()
            self.intermediate = Intermediate()
            self.output = DenseNorm(ff)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.attention.output(self.attention.self(x), x)
            return self.output(F.gelu(self.intermediate.dense(h)), h)

        def attention_core(self, x: torch.Tensor) -> torch.Tensor:
            return self.attention.output.dense(self.attention.self(x))

    return Layer().to(torch.float64).eval()


@needs_torch
@pytest.mark.parametrize("suffix", [".pt", ".npz", ".safetensors"])
def test_bert_layout_equals_torch_bert_layer(tmp_path: Path, suffix: str) -> None:
    import torch

    if suffix == ".safetensors" and not HAS_SAFETENSORS:
        pytest.skip(missing("safetensors"))
    rng = np.random.default_rng(3)
    model = _torch_bert_layer(D, HEADS, FF, 1e-12)
    sd = {f"bert.encoder.layer.{i}.{k}": v for i in range(2)
          for k, v in bert_state(rng).items()}
    model.load_state_dict({k.removeprefix("bert.encoder.layer.1."): torch.from_numpy(v)
                           for k, v in sd.items() if k.startswith("bert.encoder.layer.1.")})
    path = save(tmp_path / f"model{suffix}", sd)
    layer = build_layer(LAYOUTS["bert"], load_weights(path), "bert.encoder.layer.1.", HEADS)
    x = rng.standard_normal((N, D))
    with torch.no_grad():
        block = model(torch.from_numpy(x)).numpy()
        core = model.attention_core(torch.from_numpy(x)).numpy()
    p = layer.params
    np.testing.assert_allclose(ref.block(x, p, HEADS, 1e-12, "gelu"), block, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ref.attention(x, p, HEADS), core, rtol=0, atol=1e-10)


def test_reference_keeps_float32() -> None:
    rng = np.random.default_rng(4)
    layer = build_layer(LAYOUTS["bert"], bert_state(rng), "", HEADS)
    p32 = {k: v.astype(np.float32) for k, v in layer.params.items()}
    out = ref.block(rng.standard_normal((N, D)).astype(np.float32), p32, HEADS, 1e-12, "gelu")
    assert out.dtype == np.float32


# --- the co-transform check -----------------------------------------------------------------

def _verdicts(result: Any) -> dict[tuple[str, str], str]:
    return {(row.unit, label): "n/a" if g is None else g.verdict for row in result.breakdown
            for label, g in row.checks.items()}


def test_breakdown_of_a_bert_layer() -> None:
    """The mathematics: attention is O(d)-equivariant only with co-transformed weights, every
    LayerNorm breaks O(d) even with its gain turned, the feed-forward keeps it, S(n) holds.
    The output projection reads head space ``"n v"``: with fixed weights O(d) turns none of its
    inputs, so it cannot be checked alone for that ("n/a", not a failure by construction)."""
    layer = build_layer(LAYOUTS["bert"], bert_state(np.random.default_rng(5)), "", HEADS)
    result = check_layer(layer, settings=Settings(trials=3))
    v = _verdicts(result)
    for unit in ("attention", "block", "attention.self", "attention.output.dense",
                 "attention.output.LayerNorm", "intermediate.dense + output.dense",
                 "output.LayerNorm"):
        assert v[unit, "S(n)"] == "pass", unit
        want = "n/a" if unit == "attention.output.dense" else "fail"
        assert v[unit, "O(d) fixed"] == want, unit
    for unit in ("attention", "attention.self", "attention.output.dense",
                 "intermediate.dense + output.dense"):
        assert v[unit, "O(d) co-transformed"] == "pass", unit
    for unit in ("block", "attention.output.LayerNorm", "output.LayerNorm"):
        assert v[unit, "O(d) co-transformed"] == "fail", unit
    assert result.component == "block" and not result.passed
    # Causes are the parts that fail alone — the same verdicts as the breakdown table.
    (cause, product) = result.causes
    assert cause.group == "O(d)" and product.group == "S(n) × O(d)"
    assert [name for name, _ in cause.culprits] == ["attention.output.LayerNorm",
                                                    "output.LayerNorm"]
    assert cause.passing == ["attention.self", "attention.output.dense",
                             "intermediate.dense + output.dense"]


def test_fixed_weights_cause_says_cotransformed_weights_pass() -> None:
    layer = build_layer(LAYOUTS["torch-mha"], mha_state(np.random.default_rng(6)), "", HEADS)
    result = check_layer(layer, groups=["O(d)"], mode="fixed", settings=Settings(trials=3))
    assert not result.passed
    (cause,) = result.causes
    # out_proj reads "n v", which O(d) does not touch: not checkable alone, never a cause
    assert [n for n, _ in cause.culprits] == ["in_proj (scores and values)"]
    assert cause.untestable == ["out_proj"] and cause.passing == []
    assert cause.culprits[0][1].measurement.stat(100) > 0.1  # measured, far above tolerance
    assert cause.cotransformed is not None and cause.cotransformed.passed
    out_proj = next(row for row in result.breakdown if row.unit == "out_proj")
    assert out_proj.checks["O(d) fixed"] is None
    assert out_proj.to_dict()["checks"]["O(d) fixed"] == {"verdict": "n/a", "max": None,
                                                          "tolerance": None}
    assert out_proj.checks["O(d) co-transformed"] is not None  # its weights turn: measurable
    assert cause.to_dict()["not_checkable_alone"] == ["out_proj"]


def test_fixed_weights_block_cause_is_the_parts_whose_inputs_turn() -> None:
    layer = build_layer(LAYOUTS["bert"], bert_state(np.random.default_rng(5)), "", HEADS)
    result = check_layer(layer, groups=["O(d)"], mode="fixed", settings=Settings(trials=3))
    (cause,) = result.causes
    assert [n for n, _ in cause.culprits] == ["attention.self", "attention.output.LayerNorm",
                                              "intermediate.dense + output.dense",
                                              "output.LayerNorm"]
    assert cause.untestable == ["attention.output.dense"]
    assert all(g.measurement.stat(100) > 0.1 for _, g in cause.culprits)


def test_fixed_weights_product_never_blames_out_proj() -> None:
    """S(n) × O(d) with fixed weights: the product acts on out_proj's output only through
    O(d), so out_proj is not checkable alone for it; S(n) alone is measured on every part."""
    layer = build_layer(LAYOUTS["torch-mha"], mha_state(np.random.default_rng(6)), "", HEADS)
    result = check_layer(layer, mode="fixed", settings=Settings(trials=2))
    causes = {c.group: c for c in result.causes}
    assert set(causes) == {"O(d)", "S(n) × O(d)"}  # S(n) passes: no cause for it
    for c in causes.values():
        assert c.untestable == ["out_proj"]
        assert "out_proj" not in [n for n, _ in c.culprits] + c.passing


@needs_safetensors
def test_api_and_cli_report_the_same_numbers(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    r = cli("equivariance", BERT, "--layer", "encoder.layer.1", "--seed", "7", *FAST,
            "--json", out, "--breakdown")
    assert r.exit_code == 1
    payload = json.loads(out.read_text())
    api = check_weights(BERT, layer="encoder.layer.1", settings=Settings(seed=7, trials=3),
                        breakdown="full")
    want = json.loads(json.dumps(api.to_dict()))
    for got, expected in zip(payload["check"]["groups"], want["check"]["groups"], strict=True):
        assert got["group"] == expected["group"] and got["verdict"] == expected["verdict"]
        assert got["max"] == expected["max"] and got["cases"] == expected["cases"]
    assert payload["breakdown"] == want["breakdown"]
    assert payload["causes"] == want["causes"]
    assert payload["layer"] == "encoder.layer.1" and payload["heads"] == 2
    assert payload["replay"].startswith("symcheck equivariance ")


# --- the CLI on the samples -------------------------------------------------------------------

@needs_safetensors
def test_must_show_s_n_passes(cli: Cli) -> None:
    r = cli("equivariance", BERT, "--layer", "encoder.layer.0", "--group", "S(n)")
    assert r.exit_code == 0, r.output
    assert "PASS: equivariant under S(n) (block, weights co-transformed)" in r.stdout


@needs_safetensors
def test_must_show_attention_with_cotransformed_weights_passes_o_d(cli: Cli) -> None:
    r = cli("equivariance", BERT, "--group", "O(d)", "--component", "attention")
    assert r.exit_code == 0, r.output
    assert "PASS: equivariant under O(d) (attention, weights co-transformed)" in r.stdout
    assert "breakdown" not in r.stdout  # a pass needs no cause: the parts do not run
    r = cli("equivariance", BERT, "--group", "O(d)", "--component", "attention", "--breakdown")
    assert r.exit_code == 0, r.output
    for label in ("S(n)", "O(d) co-transformed", "O(d) fixed", "attention.output.LayerNorm"):
        assert label in r.stdout


@needs_safetensors
def test_must_show_block_fails_o_d_because_of_layernorm(cli: Cli) -> None:
    r = cli("equivariance", BERT, "--group", "O(d)", "--component", "block")
    assert r.exit_code == 1, r.output
    assert ("O(d) (weights co-transformed) fails in block: caused by "
            "attention.output.LayerNorm (alone: FAIL") in r.stdout
    assert "pass alone: attention.self, attention.output.dense" in r.stdout


@needs_safetensors
def test_must_show_fixed_weights_fail_o_d(cli: Cli) -> None:
    r = cli("equivariance", BERT, "--group", "O(d)", "--weights", "fixed",
            "--component", "attention", "--breakdown")
    assert r.exit_code == 1, r.output
    assert "with co-transformed weights attention passes O(d)" in r.stdout
    assert "fails in attention: caused by attention.self (alone: FAIL" in r.stdout
    assert "not checkable alone (no input turned by O(d)): attention.output.dense" in r.stdout
    row = next(x for x in r.stdout.splitlines() if "attention.output.dense" in x and "|" in x)
    assert row.rstrip(" |").endswith("n/a")
    assert "n/a: attention.output.dense, O(d) fixed: no axis of its inputs ('n v')" in r.stdout


@needs_safetensors
def test_replay_reproduces_the_worst_case(cli: Cli) -> None:
    import shlex

    r = cli("equivariance", BERT, "--group", "O(d)", *FAST)
    line = next(x for x in r.stdout.splitlines() if x.startswith("replay the worst case: "))
    args = shlex.split(line.removeprefix("replay the worst case: "))[1:]
    again = cli(*args)
    assert again.exit_code == 1
    case = args[args.index("--case") + 1].split("/")[1]
    assert case in line and "cases" in again.stdout


@pytest.mark.parametrize(
    ("path", "args"),
    [
        (SAMPLES / "weights" / "mha" / "mha.pt", ()),
        (SAMPLES / "weights" / "plain" / "attention.npz", ()),
        (SAMPLES / "weights" / "bert" / "model.npz", ("--component", "attention")),
        (SAMPLES / "weights" / "bert" / "model.pt", ("--component", "attention", "--dtype",
                                                       "float32")),
    ],
)
def test_sample_files_pass_with_cotransformed_weights(cli: Cli, path: Path,
                                                      args: tuple[str, ...]) -> None:
    if path.suffix == ".pt" and not HAS_TORCH:
        pytest.skip(missing("torch"))
    r = cli("equivariance", path, *FAST, *args)
    assert r.exit_code == 0, r.output


def test_sample_files_are_small_and_bert_has_two_layers() -> None:
    files = [p for p in (SAMPLES / "weights").rglob("*") if p.is_file()]
    assert all(p.stat().st_size < 300_000 for p in files)
    keys = load_weights(SAMPLES / "weights" / "bert" / "model.npz")
    assert {"encoder.layer.0.output.LayerNorm.weight",
            "encoder.layer.1.output.LayerNorm.weight"} <= set(keys)


# --- bad input: exit 2, one line, nothing written ------------------------------------------

class Opaque:
    """An arbitrary object: a .pt holding one needs unpickling of code, which is refused."""

    def __init__(self) -> None:
        self.data = [1, 2, 3]


def _nan(tmp: Path) -> Path:
    sd = bert_state(np.random.default_rng(8))
    sd["attention.self.key.weight"][2, 5] = np.nan
    return save(tmp / "nan.npz", sd)


def _missing(tmp: Path) -> Path:
    sd = bert_state(np.random.default_rng(8))
    del sd["attention.self.value.bias"]
    return save(tmp / "missing.npz", sd)


def _shapes(tmp: Path) -> Path:
    sd = bert_state(np.random.default_rng(8))
    sd["attention.self.key.weight"] = np.zeros((D, D + 1))
    return save(tmp / "shapes.npz", sd)


def _unknown(tmp: Path) -> Path:
    return save(tmp / "unknown.npz", {"encoder.weight": np.zeros((3, 3)), "head.bias": np.zeros(3)})


def _pickled(tmp: Path) -> Path:
    import torch

    torch.save({"W_Q": Opaque()}, tmp / "opaque.pt")
    return tmp / "opaque.pt"


def _no_heads(tmp: Path) -> Path:
    return save(tmp / "mha.npz", mha_state(np.random.default_rng(8)))


def _int_weights(tmp: Path) -> Path:
    sd = mha_state(np.random.default_rng(8))
    sd["out_proj.weight"] = np.ones((D, D), dtype=np.int64)
    return save(tmp / "ints.npz", sd)


def _packed(tmp: Path) -> Path:
    sd = mha_state(np.random.default_rng(8))
    sd["in_proj_weight"] = sd["in_proj_weight"][:-1]
    return save(tmp / "packed.npz", sd)


def _corrupt(tmp: Path) -> Path:
    (tmp / "corrupt.safetensors").write_bytes(b"\x00\x01 not a safetensors file")
    return tmp / "corrupt.safetensors"


def _bert(tmp: Path) -> Path:
    return save(tmp / "bert.npz", bert_state(np.random.default_rng(8)))


def _config(text: str) -> Callable[[Path], Path]:
    """A BERT layer with ``text`` as its config.json (JSON allows Infinity and NaN)."""
    def make(tmp: Path) -> Path:
        (tmp / "config.json").write_text(text)
        return _bert(tmp)

    return make


def _empty_axis(tmp: Path) -> Path:
    sd = {k: np.zeros(tuple(0 if s == D else s for s in v.shape))
          for k, v in bert_state(np.random.default_rng(8)).items()}
    return save(tmp / "empty.npz", sd)


BAD = [
    ("unknown-layout", _unknown, (), "unknown layout; keys found: encoder.weight, head.bias; "
     "layouts known: torch-mha"),
    ("missing-key", _missing, ("--heads", "3"), "missing key 'attention.self.value.bias'"),
    ("shapes", _shapes, ("--heads", "3"), "'attention.self.key.weight' has shape (12, 13), "
     "expected (12, 12): its embedding (d) axis has size 13 but 'attention.self.query.weight' "
     "gives d=12"),
    ("nan", _nan, ("--heads", "3"), "'attention.self.key.weight' has 1 NaN/Inf value(s) of 144 "
     "(first at index (2, 5))"),
    ("pickled-pt", _pickled, ("--heads", "1"), "needs arbitrary Python objects unpickled"),
    ("no-heads", _no_heads, (), "--heads: "),
    ("heads-do-not-divide", _bert, ("--heads", "5"), "--heads: 5 heads do not divide"),
    ("int-weights", _int_weights, ("--heads", "3"), "'out_proj.weight' has dtype int64"),
    ("packed-shape", _packed, ("--heads", "3"), "expected (3·E, E)"),
    ("corrupt", _corrupt, ("--heads", "3"), "cannot read"),
    ("bad-layer", _bert, ("--heads", "3", "--layer", "encoder.layer.9"),
     "--layer: 'encoder.layer.9' is not a layer of the file"),
    ("block-of-mha", _no_heads, ("--heads", "3", "--component", "block"),
     "--component: 'block'"),
    ("bad-component", _bert, ("--heads", "3", "--component", "ffn"), "--component: 'ffn'"),
    ("bad-mode", _bert, ("--heads", "3", "--weights", "rotated"), "--weights: 'rotated'"),
    ("size-d", _bert, ("--heads", "3", "--size", "d=4"), "--size: 'd' comes from the weights"),
    ("in-spec", _bert, ("--heads", "3", "--in", "n d"), "--in: does not apply"),
    ("bad-group", _bert, ("--heads", "3", "--group", "O(q)"), "--group: 'O(q)'"),
    ("missing-file", lambda tmp: tmp / "absent.npz", (), "does not exist"),
    ("empty-axis", _empty_axis, ("--heads", "3"),
     "'attention.self.query.weight' has shape (0, 0): an axis of size 0"),
    ("act-not-a-name", _config('{"num_attention_heads": 3, "hidden_act": 5}'), (),
     "config.json': hidden_act 5 is not a name such as 'gelu'"),
    ("act-unknown", _config('{"num_attention_heads": 3, "hidden_act": "swishy"}'), (),
     "config.json': hidden_act 'swishy' is not one of gelu"),
    ("hidden-size-text", _config('{"num_attention_heads": 3, "hidden_size": "12"}'), (),
     "config.json': hidden_size '12' is not a positive integer"),
    ("eps-infinite", _config('{"num_attention_heads": 3, "layer_norm_eps": Infinity}'), (),
     "config.json': layer_norm_eps inf is not a finite number ≥ 0"),
    ("eps-true", _config('{"num_attention_heads": 3, "layer_norm_eps": true}'), (),
     "config.json': layer_norm_eps True is not a finite number ≥ 0"),
]


@pytest.mark.parametrize(("make", "args", "message"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_weights_exit_2_with_one_line(cli: Cli, tmp_path: Path, make: Callable[[Path], Path],
                                          args: tuple[str, ...], message: str) -> None:
    if make in (_pickled,) and not HAS_TORCH:
        pytest.skip(missing("torch"))
    if make is _corrupt and not HAS_SAFETENSORS:
        pytest.skip(missing("safetensors"))
    path = make(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    r = cli("equivariance", path, *args, "--json", out / "report.json")
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symcheck: error: "), r.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in r.output
    assert list(out.iterdir()) == []


def test_weight_options_are_refused_for_python_models(cli: Cli) -> None:
    r = cli("equivariance", SAMPLES / "attention.py", "--layer", "encoder.layer.0")
    assert r.exit_code == 2
    assert "--layer: applies to weights files only" in r.stderr


def test_missing_safetensors_names_the_extra(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "safetensors", None)
    monkeypatch.setitem(__import__("sys").modules, "safetensors.numpy", None)
    r = cli("equivariance", BERT)
    assert r.exit_code == 2
    assert "needs safetensors, which is not installed; install it with: pip install " \
           "'symcheck[safetensors]'" in r.stderr


def test_missing_torch_for_pt_names_the_extra(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "torch", None)
    r = cli("equivariance", SAMPLES / "weights" / "mha" / "mha.pt")
    assert r.exit_code == 2
    assert "needs torch, which is not installed; install it with: pip install " \
           "'symcheck[torch]'" in r.stderr


# --- finding the layer ---------------------------------------------------------------------

def test_find_layer_by_suffix_by_block_and_first_by_default() -> None:
    from symcheck.core.errors import SpecError
    from symcheck.sources.weights import find_layer

    rng = np.random.default_rng(9)
    sd = {f"bert.encoder.layer.{i}.{k}": v for i in (0, 1, 10) for k, v in bert_state(rng).items()}
    sd |= {f"decoder.layers.2.self_attn.{k}": v for k, v in mha_state(rng).items()}
    layout, prefix, found = find_layer(sd, None)
    assert (layout.name, prefix) == ("bert", "bert.encoder.layer.0.")
    assert found == ["bert.encoder.layer.0", "bert.encoder.layer.1", "bert.encoder.layer.10",
                     "decoder.layers.2.self_attn"]
    assert find_layer(sd, "encoder.layer.1")[1] == "bert.encoder.layer.1."
    assert find_layer(sd, "layers.2")[:2] == (LAYOUTS["torch-mha"], "decoder.layers.2.self_attn.")
    with pytest.raises(SpecError, match=r"^layer: 'layer\.7' is not a layer") as info:
        find_layer(sd, "layer.7")
    from symcheck.cli.common import CLI

    assert info.value.worded(CLI).startswith("--layer: 'layer.7' is not a layer")


def test_first_layer_is_named_in_the_report(cli: Cli, tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    sd = {f"encoder.layer.{i}.{k}": v for i in range(2) for k, v in bert_state(rng).items()}
    path = save(tmp_path / "two.npz", sd)
    r = cli("equivariance", path, "--heads", "3", "--group", "S(n)", *FAST)
    assert r.exit_code == 0, r.output
    assert ("note: the file holds 2 layers (encoder.layer.0, encoder.layer.1); checked "
            "encoder.layer.0 (choose with --layer)") in r.stdout


def test_json_to_stdout_for_weights(cli: Cli) -> None:
    r = cli("equivariance", SAMPLES / "weights" / "plain" / "attention.npz", "--json", "-", *FAST,
            "--breakdown")
    assert r.exit_code == 0
    payload = json.loads(r.stdout)
    assert payload["layout"] == "plain" and payload["verdict"] == "pass"
    assert "breakdown" in r.stderr


def _rms_without_gain(x: np.ndarray, gain: np.ndarray, bias: np.ndarray,
                      eps: float) -> np.ndarray:
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)


def test_causes_are_measured_not_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control of the attribution: with every LayerNorm replaced by RMSNorm without
    gain (O(d)-equivariant) the block passes and no part is blamed."""
    monkeypatch.setattr(ref, "layer_norm", _rms_without_gain)
    layer = build_layer(LAYOUTS["bert"], bert_state(np.random.default_rng(11)), "", HEADS)
    result = check_layer(layer, groups=["O(d)"], settings=Settings(trials=3))
    assert result.passed and result.causes == []
    v = _verdicts(result)
    assert v["attention.output.LayerNorm", "O(d) co-transformed"] == "pass"
    assert v["block", "O(d) co-transformed"] == "pass"


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("planted", ["ffn", "self"])
def test_a_planted_violation_is_named_on_the_checks_own_cases(
    monkeypatch: pytest.MonkeyPatch, seed: int, planted: str
) -> None:
    """Negative control of the attribution: every LayerNorm made O(d)-equivariant (RMSNorm
    without gain) and a small non-equivariant term (1e-6·tanh, coordinate by coordinate)
    planted in one part: the block fails O(d), the planted part alone fails it on the block's
    own cases, and no other part is blamed."""
    monkeypatch.setattr(ref, "layer_norm", _rms_without_gain)
    name = {"ffn": "feed_forward", "self": "self_attention"}[planted]
    real = getattr(ref, name)
    monkeypatch.setattr(ref, name, lambda x, *a, **k: real(x, *a, **k) + 1e-6 * np.tanh(x))
    layer = build_layer(LAYOUTS["bert"], bert_state(np.random.default_rng(seed)), "", HEADS)
    result = check_layer(layer, groups=["O(d)"], settings=Settings(seed=seed, trials=3),
                         breakdown="needed")
    assert not result.passed and result.breakdown == []
    (cause,) = result.causes
    culprit = {"ffn": "intermediate.dense + output.dense", "self": "attention.self"}[planted]
    assert [n for n, _ in cause.culprits] == [culprit]
    assert 1e-8 < cause.culprits[0][1].measurement.stat(100) < 1e-4
    assert sorted(cause.passing) == sorted(
        {"attention.self", "attention.output.dense", "attention.output.LayerNorm",
         "intermediate.dense + output.dense", "output.LayerNorm"} - {culprit})
    assert cause.cases == len(result.requested.groups[0].measurement.cases)


def test_parts_are_measured_on_exactly_the_headline_cases(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Naming a cause draws nothing: every part's check receives the requested check's own
    group elements (the same Haar matrices, probes and size probes, case by case) and, as its
    input on each case, what the block feeds that part there."""
    from symcheck.sources.weights import check as wc

    checks: list[tuple[str, Any, Any]] = []
    real = wc.check_problem

    def spy(problem: Any, *args: Any, **kwargs: Any) -> Any:
        result = real(problem, *args, **kwargs)
        checks.append((problem.name, kwargs.get("given"), result))
        return result

    monkeypatch.setattr(wc, "check_problem", spy)
    layer = build_layer(LAYOUTS["bert"], bert_state(np.random.default_rng(5)), "", HEADS)
    result = check_layer(layer, settings=Settings(trials=3), breakdown="needed")
    (_, none, headline), *parts = checks
    assert none is None and len(parts) == 5
    drawn = {g.measurement.name: g.measurement.drawn for g in headline.groups}
    for name, given, part in parts:
        assert set(given) == {"O(d)", "S(n) × O(d)"}, name  # the failing group sets only
        for g in part.groups:
            mine, theirs = g.measurement.drawn, drawn[g.measurement.name]
            assert [d.labels for d in mine] == [d.labels for d in theirs], name
            for d, e in zip(mine, theirs, strict=True):
                for (_, a), (_, b) in zip(d.elements, e.elements, strict=True):
                    np.testing.assert_array_equal(a.matrices(), b.matrices())
    x = drawn["O(d)"][0].inputs[0]  # the Haar draws, probes and identity cases: (cases, 1, n, d)
    fed = wc.part_inputs(layer, "block", x)
    np.testing.assert_allclose(fed["ln1"], ref.attention(x, layer.params, HEADS) + x,
                               rtol=0, atol=1e-12)  # post-norm: N(x + attention(x))
    for name, _, part in parts:
        key = next(k for k, v in layer.parts.items() if v == name)
        np.testing.assert_array_equal(part.groups[0].measurement.drawn[0].inputs[0], fed[key])
    (cause, _) = result.causes
    ln1 = next(part for name, _, part in parts if name == "attention.output.LayerNorm")
    assert cause.culprits[0][1] is ln1.groups[0]


@needs_torch
@pytest.mark.parametrize(("norm_first", "activation", "bias"),
                         [(False, "relu", True), (True, "gelu", True), (False, "relu", False)])
def test_torch_encoder_layout_equals_nn_transformer_encoder_layer(
    tmp_path: Path, norm_first: bool, activation: str, bias: bool
) -> None:
    import torch

    rng = np.random.default_rng(12)
    layer = torch.nn.TransformerEncoderLayer(
        D, HEADS, dim_feedforward=FF, dropout=0.0, activation=activation, norm_first=norm_first,
        bias=bias, dtype=torch.float64).eval()
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) / math.sqrt(D)))
    sd = {f"encoder.layers.0.{k}": v for k, v in layer.state_dict().items()}
    path = tmp_path / "encoder.pt"
    torch.save(sd, path)
    (tmp_path / "config.json").write_text(json.dumps(
        {"num_attention_heads": HEADS, "norm_first": norm_first, "activation": activation}))
    x = rng.standard_normal((N, D))
    with torch.no_grad():
        expected = layer(torch.from_numpy(x)).numpy()
    result = check_weights(path, layer="layers.0", settings=Settings(trials=2))
    built = result.layer
    assert built.layout == "torch-encoder" and built.prefix == "encoder.layers.0."
    got = ref.block(x, built.params, HEADS, built.eps, built.activation, built.norm_first)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    v = _verdicts(result)
    assert v["norm1", "O(d) co-transformed"] == "fail"
    assert v["attention", "O(d) co-transformed"] == "pass"
    assert [n for n, _ in result.causes[0].culprits] == ["norm1", "norm2"]
