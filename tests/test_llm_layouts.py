"""Llama-style and GPT-2 checkpoints: layouts, reference forwards against transformers' modules.

Tiny models are built from configs with random weights (nothing is downloaded) and saved with
the library's own ``save_pretrained`` (safetensors + config.json). The reference forward must
equal the library's module on the same weights to 1e-10 relative in float64. Two parts of
transformers' Llama compute in float32 whatever the dtype: ``LlamaRMSNorm`` (it upcasts to
float32 and back; ~1e-9 relative on a tiny layer) and the rotary ``cos``/``sin`` tables
(``LlamaRotaryEmbedding`` builds them from float32 frequencies). The comparison therefore runs
the module with its RMSNorm patched to compute in the input's dtype and with ``cos``/``sin``
computed in float64 by the same formula; a separate test shows the unpatched module agrees to
float32 round-off only. Tests skip visibly only when transformers is not installed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from symcheck.sources.weights import LAYOUTS, find_layer, load_weights, read_config
from symcheck.sources.weights import reference as ref
from symcheck.sources.weights.layouts import layer_from_config
from tests.conftest import sample_module

# The tiny checkpoints are the samples' own (samples/weights/make_llm.py), in a temporary folder.
MAKE_LLM = sample_module("weights/make_llm.py")
llama_like, gpt2 = MAKE_LLM.llama_like, MAKE_LLM.gpt2

HAS_TRANSFORMERS = (importlib.util.find_spec("transformers") is not None
                    and importlib.util.find_spec("torch") is not None)
needs_transformers = pytest.mark.skipif(
    not HAS_TRANSFORMERS,
    reason="transformers (and torch) are not installed (pip install 'symcheck[test]')")
N = 7
RTOL = 1e-10


def relative(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


def load(tmp: Path, layer: str) -> Any:
    path = tmp / "model.safetensors"
    tensors = load_weights(path)
    config = read_config(path)
    layout, prefix, _ = find_layer(tensors, layer)
    assert config.heads is not None
    return layer_from_config(layout, tensors, prefix, config, config.heads)


def rope_tables(n: int, head_dim: int, theta: float) -> tuple[Any, Any]:
    """transformers' default RoPE tables, computed in float64 (the library uses float32)."""
    import torch

    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    freqs = torch.arange(n, dtype=torch.float64)[:, None] * inv[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)[None]
    return emb.cos(), emb.sin()


def rms_in_input_dtype(self: Any, x: Any) -> Any:
    """``LlamaRMSNorm.forward`` without its float32 upcast (the same formula otherwise)."""
    import torch

    variance = x.pow(2).mean(-1, keepdim=True)
    return self.weight * (x * torch.rsqrt(variance + self.variance_epsilon))


def decoder_output(model: Any, index: int, x: np.ndarray, theta: float,
                   patch: pytest.MonkeyPatch | None) -> np.ndarray:
    import torch

    layer = model.layers[index]
    if patch is not None:
        for norm in (layer.input_layernorm, layer.post_attention_layernorm):
            patch.setattr(norm, "forward", rms_in_input_dtype.__get__(norm))
    head_dim = layer.self_attn.head_dim
    with torch.no_grad():
        out = layer(torch.from_numpy(x)[None], attention_mask=None,
                    position_embeddings=rope_tables(x.shape[0], head_dim, theta))
    return (out[0] if isinstance(out, tuple) else out)[0].numpy()


# --- layouts ------------------------------------------------------------------------------

@needs_transformers
def test_llama_layout_reads_config_and_names(tmp_path: Path) -> None:
    llama_like(tmp_path)
    layer = load(tmp_path, "layers.1")
    assert (layer.layout, layer.prefix, layer.heads, layer.kv_heads) == ("llama", "layers.1.", 4, 2)
    assert (layer.norm, layer.norms, layer.causal, layer.norm_first) == ("rms", ("ln1", "ln2"),
                                                                         True, True)
    assert (layer.rope_theta, layer.eps, layer.activation) == (500.0, 1e-5, "silu")
    assert layer.sizes == {"k": 32, "d": 32, "c": 16, "v": 32, "f": 48}
    assert layer.specs["k.weight"] == "c d" and "ln1.bias" not in layer.params
    assert layer.keys["gate.weight"] == "layers.1.mlp.gate_proj.weight"
    assert layer.components == ("attention", "block")


@needs_transformers
def test_gpt2_layout_splits_the_fused_conv1d(tmp_path: Path) -> None:
    model = gpt2(tmp_path)
    layer = load(tmp_path, "h.0")
    w = model.h[0].attn.c_attn.weight.detach().numpy()  # (in, 3·out)
    assert layer.layout == "gpt2" and layer.causal and layer.norm_first
    np.testing.assert_array_equal(layer.params["k.weight"], w[:, 24:48].T)
    assert layer.keys["v.weight"] == "h.0.attn.c_attn.weight[:, 48:72]"
    assert layer.params["ff1.weight"].shape == (96, 24)  # canonical (out, in)
    assert (layer.activation, layer.eps, layer.rope_theta) == ("gelu_new", 1e-5, None)


# --- the reference forwards equal transformers' modules ----------------------------------

@needs_transformers
@pytest.mark.parametrize(("family", "overrides"), [
    ("llama", {}),
    ("llama", {"num_key_value_heads": 4}),  # plain multi-head attention
    ("llama", {"attention_bias": True, "mlp_bias": True}),
    ("mistral", {}),
    ("qwen2", {}),  # q/k/v biases
])
def test_llama_like_reference_equals_decoder_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   family: str, overrides: dict[str, Any]) -> None:
    """Against the module with RMSNorm in float64 and float64 RoPE tables (see the module
    docstring: transformers computes both in float32 whatever the dtype)."""
    model = llama_like(tmp_path, family, **overrides)
    theta = 500.0
    x = np.random.default_rng(1).standard_normal((N, 32))
    for index in (0, 1):
        layer = load(tmp_path, f"layers.{index}")
        want = decoder_output(model, index, x, theta, monkeypatch)
        got = ref.layer_forward(layer)(x)
        assert relative(got, want) < RTOL, relative(got, want)


@needs_transformers
@pytest.mark.parametrize(("family", "overrides", "windowed"), [
    ("mistral", {"sliding_window": 3, "num_hidden_layers": 3}, (True, True)),
    ("qwen2", {"use_sliding_window": True, "sliding_window": 3, "max_window_layers": 1,
               "num_hidden_layers": 3}, (False, True)),  # sliding from max_window_layers on
])
def test_sliding_window_reference_equals_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, family: str, overrides: dict[str, Any],
    windowed: tuple[bool, bool]
) -> None:
    """The window comes from the model's own mask (the decoder layer alone is only causal), so
    the whole model runs, RMSNorm and RoPE tables in float64; each layer's output there is
    ``hidden_states[i + 1]`` (the last one has the final norm, so three layers, two compared).
    Without the window the reference misses by far more than 1e-10."""
    import torch

    model = llama_like(tmp_path, family, **overrides)
    for block in model.layers:
        for norm in (block.input_layernorm, block.post_attention_layernorm):
            monkeypatch.setattr(norm, "forward", rms_in_input_dtype.__get__(norm))
    head_dim = model.layers[0].self_attn.head_dim
    monkeypatch.setattr(model.rotary_emb, "forward",
                        lambda x, position_ids: rope_tables(x.shape[1], head_dim, 500.0))
    n = 9
    x = np.random.default_rng(2).standard_normal((n, 32))
    with torch.no_grad():
        states = model(inputs_embeds=torch.from_numpy(x)[None],
                       output_hidden_states=True).hidden_states
    inputs = x
    for index, slides in enumerate(windowed):
        layer = load(tmp_path, f"layers.{index}")
        assert layer.window == (3 if slides else None)
        assert any("sliding window 3" in note for note in layer.notes) == slides
        want = states[index + 1][0].numpy()
        got = ref.layer_forward(layer)(inputs)
        assert relative(got, want) < RTOL, (index, relative(got, want))
        if slides:
            from dataclasses import replace

            unwindowed = ref.layer_forward(replace(layer, window=None))(inputs)
            assert relative(unwindowed, want) > 1e-3
        inputs = want


@needs_transformers
def test_unpatched_llama_layer_differs_only_by_float32_round_off(tmp_path: Path) -> None:
    """Why the comparison patches: the stock module's float32 RMSNorm and RoPE tables leave a
    difference far above float64 round-off and far below any real discrepancy."""
    import torch

    model = llama_like(tmp_path)
    layer = load(tmp_path, "layers.0")
    x = np.random.default_rng(2).standard_normal((N, 32))
    with torch.no_grad():
        position_ids = torch.arange(N)[None]
        tables = model.rotary_emb(torch.from_numpy(x)[None], position_ids)
        want = model.layers[0](torch.from_numpy(x)[None], attention_mask=None,
                               position_embeddings=tables)
    want = (want[0] if isinstance(want, tuple) else want)[0].numpy()
    error = relative(ref.layer_forward(layer)(x), want)
    assert 1e-12 < error < 1e-5, error


@needs_transformers
@pytest.mark.parametrize("overrides", [{}, {"scale_attn_by_inverse_layer_idx": True},
                                       {"activation_function": "relu"}])
def test_gpt2_reference_equals_gpt2_block(tmp_path: Path, overrides: dict[str, Any]) -> None:
    import torch

    model = gpt2(tmp_path, **overrides)
    x = np.random.default_rng(3).standard_normal((N, 24))
    for index in (0, 1):
        layer = load(tmp_path, f"h.{index}")
        with torch.no_grad():
            out = model.h[index](torch.from_numpy(x)[None])
        want = (out[0] if isinstance(out, tuple) else out)[0].numpy()
        got = ref.layer_forward(layer)(x)
        assert relative(got, want) < RTOL, relative(got, want)


@needs_transformers
def test_reference_runs_cases_in_a_batch_like_one_by_one(tmp_path: Path) -> None:
    llama_like(tmp_path)
    forward = ref.layer_forward(load(tmp_path, "layers.0"))
    xs = np.random.default_rng(4).standard_normal((3, N, 32))
    np.testing.assert_allclose(forward(xs), np.stack([forward(x) for x in xs]), rtol=0,
                               atol=1e-12)


def test_rope_is_a_rotation_of_each_pair_and_position_zero_is_the_identity() -> None:
    y = np.random.default_rng(5).standard_normal((2, 6, 8))
    out = ref.rope(y, 10000.0)
    np.testing.assert_array_equal(out[:, 0], y[:, 0])
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(y, axis=-1),
                               rtol=1e-13)


def test_causal_attention_ignores_later_tokens() -> None:
    rng = np.random.default_rng(6)
    p = {f"{c}.weight": rng.standard_normal((8, 8)) for c in "qkvo"}
    x = rng.standard_normal((5, 8))
    y = x.copy()
    y[3:] = rng.standard_normal((2, 8))
    a = ref.attention(x, p, 2, causal=True)
    b = ref.attention(y, p, 2, causal=True)
    np.testing.assert_allclose(a[:3], b[:3], rtol=0, atol=1e-13)
    assert not np.allclose(a[3:], b[3:])


def test_rms_norm_without_gain_commutes_with_rotations() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 6))
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    np.testing.assert_allclose(ref.rms_norm(x @ q.T, None, 1e-6), ref.rms_norm(x, None, 1e-6)
                               @ q.T, atol=1e-14)


# --- config.json -------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "message"), [
    ({"rope_parameters": {"rope_type": "llama3", "rope_theta": 5e5}}, "rope_type 'llama3'"),
    ({"rope_theta": -1}, "rope_theta -1 is not a finite number > 0"),
    ({"num_key_value_heads": 0}, "num_key_value_heads 0 is not a positive integer"),
    ({"rms_norm_eps": "small"}, "rms_norm_eps 'small' is not a finite number"),
    ({"activation_function": 3}, "activation_function 3 is not a name"),
])
def test_bad_config_values_are_one_line_errors(tmp_path: Path, data: dict[str, Any],
                                               message: str) -> None:
    from symcheck.core.errors import InputFileError

    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(InputFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_config(tmp_path / "model.safetensors")


def test_config_reads_rope_theta_from_both_places(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"rope_theta": 1e4, "n_embd": 8,
                                                      "layer_norm_epsilon": 1e-5}))
    config = read_config(tmp_path / "x.safetensors")
    assert (config.rope_theta, config.hidden_size, config.layer_norm_eps) == (1e4, 8, 1e-5)
    (tmp_path / "config.json").write_text(json.dumps(
        {"rope_parameters": {"rope_type": "default", "rope_theta": 5e5}}))
    assert read_config(tmp_path / "x.safetensors").rope_theta == 5e5


def test_grouped_heads_must_divide() -> None:
    from symcheck.core.errors import SpecError
    from symcheck.sources.weights.layouts import build_layer

    rng = np.random.default_rng(8)
    d, f = 12, 10
    sd = {f"layers.0.self_attn.{c}_proj.weight": rng.standard_normal((w, d))
          for c, w in (("q", 12), ("k", 6), ("v", 6))}
    sd |= {"layers.0.self_attn.o_proj.weight": rng.standard_normal((d, 12)),
           "layers.0.input_layernorm.weight": np.ones(d),
           "layers.0.post_attention_layernorm.weight": np.ones(d),
           "layers.0.mlp.gate_proj.weight": rng.standard_normal((f, d)),
           "layers.0.mlp.up_proj.weight": rng.standard_normal((f, d)),
           "layers.0.mlp.down_proj.weight": rng.standard_normal((d, f))}
    with pytest.raises(SpecError, match="3 key/value heads do not divide 4 query heads"):
        build_layer(LAYOUTS["llama"], sd, "layers.0.", 4, kv_heads=3)
    layer = build_layer(LAYOUTS["llama"], sd, "layers.0.", 4, kv_heads=2)
    assert layer.sizes["c"] == 6


@needs_transformers
def test_a_layer_with_tensors_its_layout_does_not_model_is_refused(tmp_path: Path) -> None:
    """Qwen3's q_norm/k_norm (or any extra tensor of a layer) would make the reference a
    different function from the checkpoint's: refused, naming them; RoPE's cached inv_freq,
    which takes no part in the function, is not."""
    from safetensors.numpy import load_file, save_file

    from symcheck.core.errors import SpecError

    llama_like(tmp_path)
    path = tmp_path / "model.safetensors"
    tensors = load_file(str(path))
    tensors["layers.0.self_attn.rotary_emb.inv_freq"] = np.ones(8, dtype=np.float32)
    save_file(tensors, str(path))
    assert load(tmp_path, "layers.0").layout == "llama"
    tensors["layers.0.self_attn.q_norm.weight"] = np.ones(8, dtype=np.float32)
    save_file(tensors, str(path))
    with pytest.raises(SpecError, match=r"self_attn\.q_norm\.weight.*another function"):
        load(tmp_path, "layers.0")
    assert load(tmp_path, "layers.1").layout == "llama"  # the other layer is whole
