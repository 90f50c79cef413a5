"""Checking an LLM checkpoint from the command line, on tiny random Llama-style and GPT-2
checkpoints written by transformers' own ``save_pretrained``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.test_llm_layouts import gpt2, llama_like, needs_transformers

Cli = Callable[..., CliResult]
FAST = ["--trials", "4", "--size", "n=6"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("transformers", reason="transformers is not installed "
                        "(pip install '.[test]')")
    llama_dir = tmp_path_factory.mktemp("llama")
    gpt2_dir = tmp_path_factory.mktemp("gpt2")
    llama_like(llama_dir)  # non-trivial RMSNorm gains: randomised
    gpt2(gpt2_dir)
    return {"llama": llama_dir / "model.safetensors", "gpt2": gpt2_dir / "model.safetensors"}


@needs_transformers
@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_causal_layers_break_permutations(cli: Cli, checkpoints: dict[str, Path],
                                          kind: str) -> None:
    layer = "layers.0" if kind == "llama" else "h.0"
    r = cli("equivariance", checkpoints[kind], "--layer", layer, "--group", "S(n)", *FAST)
    assert r.exit_code == 1, r.output
    assert "causal" in r.output


@needs_transformers
@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_attention_is_rotation_equivariant_with_its_weights(cli: Cli,
                                                            checkpoints: dict[str, Path],
                                                            kind: str) -> None:
    r = cli("equivariance", checkpoints[kind], "--component", "attention", "--group", "O(d)",
            *FAST)
    assert r.exit_code == 0, r.output


@needs_transformers
def test_llama_block_fails_unfolded_and_passes_folded(cli: Cli,
                                                      checkpoints: dict[str, Path]) -> None:
    path = checkpoints["llama"]
    r = cli("equivariance", path, "--component", "block", "--group", "O(d)", *FAST)
    assert r.exit_code == 1, r.output
    assert "layernorm" in r.output.lower()  # the RMSNorm gains are named
    r = cli("equivariance", path, "--component", "block", "--fold-norms", "--group", "O(d)",
            *FAST)
    assert r.exit_code == 0, r.output
    assert "fold" in r.output.lower()
    r = cli("equivariance", path, "--layer", "all", "--fold-norms", "--group", "O(d)", *FAST)
    assert r.exit_code == 0, r.output
    assert "whole stack" in r.output and "2 layers" in r.output
    r = cli("equivariance", path, "--layer", "all", "--group", "O(d)", *FAST)
    assert r.exit_code == 1, r.output


@needs_transformers
def test_gpt2_block_still_fails_folded_naming_the_centring(cli: Cli,
                                                           checkpoints: dict[str, Path]) -> None:
    r = cli("equivariance", checkpoints["gpt2"], "--component", "block", "--fold-norms",
            "--group", "O(d)", *FAST)
    assert r.exit_code == 1, r.output
    assert "centr" in r.output.lower()
