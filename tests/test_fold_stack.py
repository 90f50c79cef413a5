"""Norm folding and the whole stack: the same function, and the verdicts folding changes.

Folding must be exact (the folded layer computes the unfolded one's function to 1e-12); after
folding, a Llama block's co-transformed O(d) error is at round-off while the unfolded block's
is O(1) (its RMSNorm gains are per-coordinate scalings); a GPT-2 block still fails (LayerNorm's
mean-centring), and the fold result says why. The tiny models are written with transformers'
``save_pretrained`` (see ``tests/test_llm_layouts.py``); tests skip visibly only without it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from symcheck.sources.weights import Settings, check_layer
from symcheck.sources.weights import reference as ref
from symcheck.sources.weights.fold import fold_norms
from symcheck.sources.weights.stack import (
    check_stack,
    find_layers,
    layer_forwards,
    load_stack,
    stack_forward,
)
from tests.test_llm_layouts import gpt2, llama_like, load, needs_transformers, relative
from tests.test_weights import bert_state

N = 6
FAST = Settings(trials=3)


def max_error(result: object, group: str) -> float:
    g = next(g for g in result.groups if g.measurement.name == group)  # type: ignore[attr-defined]
    return float(g.measurement.stat(100))


@needs_transformers
@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_folded_llama_layer_is_the_same_function(tmp_path: Path, family: str) -> None:
    llama_like(tmp_path, family)
    layer = load(tmp_path, "layers.0")
    result = fold_norms(layer)
    x = np.random.default_rng(0).standard_normal((N, layer.d))
    before, after = ref.layer_forward(layer)(x), ref.layer_forward(result.layer)(x)
    assert relative(after, before) < 1e-12
    assert [f.describe() for f in result.folded] == [
        "input_layernorm (RMSNorm) gain folded into self_attn.q_proj, self_attn.k_proj, "
        "self_attn.v_proj",
        "post_attention_layernorm (RMSNorm) gain folded into mlp.gate_proj, mlp.up_proj"]
    assert result.not_folded == []
    assert "ln1.weight" not in result.layer.params and result.layer.norms == ("ln1", "ln2")
    assert "ln1.weight" in layer.params  # the input layer is left unchanged


@needs_transformers
def test_folding_makes_the_llama_block_o_d_equivariant(tmp_path: Path) -> None:
    llama_like(tmp_path)
    layer = load(tmp_path, "layers.1")
    unfolded = check_layer(layer, groups=["O(d)"], component="block", settings=FAST)
    folded = check_layer(fold_norms(layer).layer, groups=["O(d)"], component="block",
                         settings=FAST)
    assert not unfolded.passed and max_error(unfolded.requested, "O(d)") > 1e-2
    assert folded.passed and max_error(folded.requested, "O(d)") < 1e-13
    (cause,) = unfolded.causes
    assert [name for name, _ in cause.culprits] == ["input_layernorm",
                                                    "post_attention_layernorm"]
    assert "self_attn (q/k/v_proj)" in cause.passing  # RoPE acts in head space
    # attention alone keeps O(d) (co-transformed) but causal + RoPE break S(n)
    attention = check_layer(layer, groups=["S(n)", "O(d)"], component="attention",
                            settings=FAST)
    verdicts = {g.measurement.name: g.verdict for g in attention.requested.groups}
    assert verdicts == {"S(n)": "fail", "O(d)": "pass", "S(n) × O(d)": "fail"}


@needs_transformers
def test_gpt2_folds_exactly_but_centring_stays(tmp_path: Path) -> None:
    gpt2(tmp_path)
    layer = load(tmp_path, "h.1")
    result = fold_norms(layer)
    x = np.random.default_rng(1).standard_normal((N, layer.d))
    assert relative(ref.layer_forward(result.layer)(x), ref.layer_forward(layer)(x)) < 1e-12
    assert [f.describe() for f in result.folded] == [
        "ln_1 (LayerNorm) gain and bias folded into attn.c_attn",
        "ln_2 (LayerNorm) gain and bias folded into mlp.c_fc"]
    assert [(n.norm, n.what) for n in result.not_folded] == [("ln_1", "mean-centring"),
                                                              ("ln_2", "mean-centring")]
    assert "all-ones direction" in result.not_folded[0].why
    checked = check_layer(result.layer, groups=["O(d)"], component="block", settings=FAST)
    assert not checked.passed
    assert [name for name, _ in checked.causes[0].culprits] == ["ln_1", "ln_2"]


def test_post_norm_gains_are_not_folded() -> None:
    from symcheck.sources.weights import LAYOUTS, build_layer

    layer = build_layer(LAYOUTS["bert"], bert_state(np.random.default_rng(2)), "", 3)
    result = fold_norms(layer)
    assert result.folded == []
    assert [(n.norm, n.what) for n in result.not_folded] == [
        ("attention.output.LayerNorm", "gain and bias"),
        ("attention.output.LayerNorm", "mean-centring"),
        ("output.LayerNorm", "gain and bias"), ("output.LayerNorm", "mean-centring")]
    assert result.layer.params.keys() == layer.params.keys()


@needs_transformers
def test_stack_in_order_and_folded_stack_passes_o_d(tmp_path: Path) -> None:
    llama_like(tmp_path, num_hidden_layers=3)
    path = tmp_path / "model.safetensors"
    stack = load_stack(path)
    assert stack.names == ["layers.0", "layers.1", "layers.2"]
    x = np.random.default_rng(3).standard_normal((N, 32))
    y = x
    for f in layer_forwards(stack.layers):
        y = f(y)
    np.testing.assert_array_equal(stack_forward(stack.layers)(x), y)
    folded = load_stack(path, fold=True)
    assert relative(stack_forward(folded.layers)(x), y) < 1e-12
    assert len(folded.folds) == 3
    before = check_stack(stack.layers, ["O(d)"], settings=FAST)
    after = check_stack(folded.layers, ["O(d)"], settings=FAST)
    assert not before.passed and max_error(before, "O(d)") > 1e-2
    assert after.passed and max_error(after, "O(d)") < 1e-12
    assert not check_stack(folded.layers, ["S(n)"], settings=FAST).passed  # causal


def test_find_layers_orders_naturally_and_skips_nested() -> None:
    from tests.test_weights import mha_state

    rng = np.random.default_rng(4)
    sd = {f"encoder.layers.{i}.self_attn.{k}": v for i in (10, 2)
          for k, v in mha_state(rng).items()}
    assert [p for _, p in find_layers(sd)] == ["encoder.layers.2.self_attn.",
                                               "encoder.layers.10.self_attn."]
    bert = {f"encoder.layer.{i}.{k}": v for i in (1, 0) for k, v in bert_state(rng).items()}
    assert find_layers(bert) == [("bert", "encoder.layer.0."), ("bert", "encoder.layer.1.")]


# --- the fast co-transform: the same numbers as the engine turning every weight ----------

def test_frame_path_measures_what_turning_every_weight_measures() -> None:
    """The frame path (every case in one call, matrices applied through the turned frame)
    against the engine turning each weight itself, case by case: the same verdicts, the same
    violations to 1e-9 relative, and round-off where the symmetry holds."""
    from symcheck.sources.weights import LAYOUTS, build_layer
    from symcheck.sources.weights.check import DEFAULT_GROUPS, run_unit

    layer = build_layer(LAYOUTS["bert"], bert_state(np.random.default_rng(5)), "", 3)
    for key in ("block", "attention", "ln1", "ffn", "out"):
        fast = run_unit(layer, key, "cotransform", DEFAULT_GROUPS, Settings(trials=4))
        slow = run_unit(layer, key, "cotransform", DEFAULT_GROUPS,
                        Settings(trials=4, frame=False))
        for f, s in zip(fast.groups, slow.groups, strict=True):
            assert f.verdict == s.verdict, (key, f.measurement.name)
            a, b = f.measurement.stat(100), s.measurement.stat(100)
            assert (a < 1e-13 and b < 1e-13) or abs(a - b) <= 1e-9 * b, (key, a, b)


@needs_transformers
def test_check_weights_folds_and_runs_only_the_needed_breakdown(tmp_path: Path) -> None:
    from symcheck.sources.weights import check_weights

    llama_like(tmp_path)
    path = tmp_path / "model.safetensors"
    folded = check_weights(path, layer="layers.0", groups=["O(d)"], component="block",
                           settings=FAST, fold=True, breakdown="needed")
    assert folded.passed and folded.breakdown == [] and folded.fold is not None
    assert folded.to_dict()["fold"]["folded"][0].startswith("input_layernorm (RMSNorm) gain")
    plain = check_weights(path, layer="layers.0", groups=["O(d)"], component="block",
                          settings=FAST, breakdown="needed")
    assert not plain.passed and plain.breakdown == []
    assert [n for n, _ in plain.causes[0].culprits] == ["input_layernorm",
                                                       "post_attention_layernorm"]
