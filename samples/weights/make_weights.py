"""Write the small weight files of samples/weights/ (nothing is downloaded).

    python samples/weights/make_weights.py

Every array comes from ``numpy.random.default_rng(SEED)``, so the files are the same on every
run. Weights are stored in float32, as real checkpoints are; symcheck computes in float64.

- ``bert/``: a BERT-style whole-model checkpoint (embeddings, ``encoder.layer.0`` and
  ``encoder.layer.1``, pooler) as ``model.safetensors``, ``model.pt`` and ``model.npz``, with
  the ``config.json`` that gives the number of heads.
- ``mha/``: an ``nn.MultiheadAttention`` state dict (``in_proj_weight``, ``out_proj.*``).
- ``plain/``: plain matrices ``W_Q, W_K, W_V, W_O`` used as ``X·W``.
- ``encoder/``: an ``nn.TransformerEncoderLayer`` state dict under ``layers.0.``.

The ``.pt`` files need torch (``pip install 'symcheck[torch]'``) and the ``.safetensors`` file
needs safetensors; a missing one is skipped with a message.
"""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path
from types import ModuleType

import numpy as np

SEED = 20221013
HERE = Path(__file__).resolve().parent
D, HEADS, FF, LAYERS, VOCAB, POSITIONS = 16, 2, 64, 2, 32, 16


def dense(rng: np.random.Generator, out: int, inp: int) -> dict[str, np.ndarray]:
    """A Linear layer's weight (out, in) and bias, scaled like a trained layer (std 1/√in)."""
    return {"weight": rng.standard_normal((out, inp)) / np.sqrt(inp),
            "bias": 0.1 * rng.standard_normal(out)}


def layer_norm(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Gain near one and a small bias: trained LayerNorms are far from the identity."""
    return {"weight": 1.0 + 0.2 * rng.standard_normal(D), "bias": 0.1 * rng.standard_normal(D)}


def flat(prefix: str, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}.{k}": v for k, v in params.items()}


def bert(rng: np.random.Generator) -> dict[str, np.ndarray]:
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": rng.standard_normal((VOCAB, D)),
        "embeddings.position_embeddings.weight": rng.standard_normal((POSITIONS, D)),
        "embeddings.token_type_embeddings.weight": rng.standard_normal((2, D)),
        **flat("embeddings.LayerNorm", layer_norm(rng)),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        for name in ("query", "key", "value"):
            sd |= flat(f"{p}.attention.self.{name}", dense(rng, D, D))
        sd |= flat(f"{p}.attention.output.dense", dense(rng, D, D))
        sd |= flat(f"{p}.attention.output.LayerNorm", layer_norm(rng))
        sd |= flat(f"{p}.intermediate.dense", dense(rng, FF, D))
        sd |= flat(f"{p}.output.dense", dense(rng, D, FF))
        sd |= flat(f"{p}.output.LayerNorm", layer_norm(rng))
    sd |= flat("pooler.dense", dense(rng, D, D))
    return sd


def mha(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The keys of ``torch.nn.MultiheadAttention(16, 4).state_dict()``."""
    return {"in_proj_weight": rng.standard_normal((3 * D, D)) / np.sqrt(D),
            "in_proj_bias": 0.1 * rng.standard_normal(3 * D),
            **flat("out_proj", dense(rng, D, D))}


def plain(rng: np.random.Generator) -> dict[str, np.ndarray]:
    k = 8  # per-head width; 2 heads
    return {"W_Q": rng.standard_normal((D, 2 * k)) / np.sqrt(D),
            "W_K": rng.standard_normal((D, 2 * k)) / np.sqrt(D),
            "W_V": rng.standard_normal((D, 2 * k)) / np.sqrt(D),
            "W_O": rng.standard_normal((2 * k, D)) / np.sqrt(2 * k)}


def encoder(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The keys of ``torch.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32)``."""
    ff = 32
    return {"self_attn.in_proj_weight": rng.standard_normal((3 * D, D)) / np.sqrt(D),
            "self_attn.in_proj_bias": 0.1 * rng.standard_normal(3 * D),
            **flat("self_attn.out_proj", dense(rng, D, D)),
            **flat("linear1", dense(rng, ff, D)), **flat("linear2", dense(rng, D, ff)),
            **flat("norm1", layer_norm(rng)), **flat("norm2", layer_norm(rng))}


def f32(sd: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def wrote(path: Path) -> None:
    print(f"wrote {path.relative_to(HERE.parent.parent)} ({path.stat().st_size} bytes)")


def optional(module: str, extra: str, path: Path) -> ModuleType | None:
    """``module`` imported, or None after saying that ``path`` is skipped without it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        print(f"skipped {path.name}: needs {extra} (pip install 'symcheck[{extra}]')")
        return None


def save_npz(path: Path, sd: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **sd)
    path.write_bytes(buffer.getvalue())
    wrote(path)


def save_pt(path: Path, sd: dict[str, np.ndarray]) -> None:
    if (torch := optional("torch", "torch", path)) is not None:
        torch.save({k: torch.from_numpy(v) for k, v in sd.items()}, path)
        wrote(path)


def save_safetensors(path: Path, sd: dict[str, np.ndarray]) -> None:
    if (safetensors := optional("safetensors.numpy", "safetensors", path)) is not None:
        safetensors.save_file(sd, str(path))
        wrote(path)


def config(folder: Path, data: dict[str, object]) -> None:
    (folder / "config.json").write_text(json.dumps(data, indent=2) + "\n")


def main() -> None:
    rng = np.random.default_rng(SEED)
    folder = HERE / "bert"
    folder.mkdir(exist_ok=True)
    sd = f32(bert(rng))
    config(folder, {"model_type": "bert", "hidden_size": D, "num_attention_heads": HEADS,
                    "num_hidden_layers": LAYERS, "intermediate_size": FF, "hidden_act": "gelu",
                    "layer_norm_eps": 1e-12, "vocab_size": VOCAB,
                    "max_position_embeddings": POSITIONS})
    save_safetensors(folder / "model.safetensors", sd)
    save_pt(folder / "model.pt", sd)
    save_npz(folder / "model.npz", sd)

    folder = HERE / "mha"
    folder.mkdir(exist_ok=True)
    config(folder, {"hidden_size": D, "num_attention_heads": 4})
    save_pt(folder / "mha.pt", f32(mha(rng)))

    folder = HERE / "plain"
    folder.mkdir(exist_ok=True)
    config(folder, {"hidden_size": D, "num_attention_heads": 2})
    save_npz(folder / "attention.npz", f32(plain(rng)))

    folder = HERE / "encoder"
    folder.mkdir(exist_ok=True)
    config(folder, {"hidden_size": D, "num_attention_heads": 4, "activation": "relu",
                    "norm_first": False})
    save_pt(folder / "encoder.pt", {f"layers.0.{k}": v for k, v in f32(encoder(rng)).items()})


if __name__ == "__main__":
    main()
