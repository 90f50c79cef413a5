"""Write the tiny decoder checkpoints of samples/weights/ with transformers' own
``save_pretrained`` (nothing is downloaded; every weight comes from a seeded generator).

    python samples/weights/make_llm.py

- ``llama/``: a Llama-style decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU, causal),
  2 layers, hidden size 32, with RMSNorm gains around 1 (non-trivial: folding has work to do).
- ``gpt2/``: a GPT-2 decoder (fused ``c_attn`` Conv1D, LayerNorm), 2 layers, hidden size 24.

Needs transformers and torch (``pip install '.[test]'``). The tests build the same models in
temporary folders through :func:`llama_like` and :func:`gpt2`, which also return the float64
module to compare symcheck's reference forwards against.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def randomise(model: Any, seed: int, gain: float = 0.3) -> None:
    """Every parameter random; norm gains around 1 (non-trivial: folding has work to do)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            if "norm" in name or "ln_" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + gain * noise)
            else:
                p.copy_(noise / max(p.shape[-1], 1) ** 0.5)


def llama_like(folder: Path, family: str = "llama", seed: int = 0, **overrides: Any) -> Any:
    """A tiny random Llama/Mistral/Qwen2 model saved to ``folder``; returns the float64 model."""
    import torch
    import transformers

    config_cls, model_cls = {
        "llama": (transformers.LlamaConfig, transformers.LlamaModel),
        "mistral": (transformers.MistralConfig, transformers.MistralModel),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2Model),
    }[family]
    options = {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
               "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 11,
               "rope_theta": 500.0, "rms_norm_eps": 1e-5, "attn_implementation": "sdpa",
               **overrides}
    model = model_cls(config_cls(**options))
    randomise(model, seed)
    model.save_pretrained(folder)
    return model.to(torch.float64).eval()


def gpt2(folder: Path, seed: int = 0, **overrides: Any) -> Any:
    """A tiny random GPT-2 model saved to ``folder``; returns the float64 model."""
    import torch
    import transformers

    options = {"n_embd": 24, "n_layer": 2, "n_head": 3, "vocab_size": 11, "n_positions": 16,
               "bos_token_id": 0, "eos_token_id": 0, "attn_implementation": "sdpa", **overrides}
    model = transformers.GPT2Model(transformers.GPT2Config(**options))
    randomise(model, seed)
    model.save_pretrained(folder)
    return model.to(torch.float64).eval()


def main() -> None:
    for name, make in (("llama", llama_like), ("gpt2", gpt2)):
        folder = HERE / name
        make(folder)
        for path in sorted(folder.iterdir()):
            print(f"wrote {path.relative_to(HERE.parent.parent)} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
