"""Named inputs and outputs (``--in NAME=SPEC``, ``--out NAME=SPEC``), partial ``--inputs``
with token ids and masks in their own dtype, ``--mask`` (padding is not compared), and a raw
transformers model checked as people ship it."""

from __future__ import annotations

import importlib.util
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

MODEL = textwrap.dedent("""
    from dataclasses import dataclass
    import numpy as np

    @dataclass
    class Output:
        last_hidden_state: np.ndarray
        pooled: np.ndarray

    def encoder(input_ids=None, inputs_embeds=None, attention_mask=None, position_scale=0.0):
        x = inputs_embeds
        n = x.shape[-2]
        x = x + position_scale * np.arange(n)[:, None]
        s = x @ np.swapaxes(x, -1, -2) / np.sqrt(x.shape[-1])
        if attention_mask is not None:
            s = np.where(attention_mask[..., None, :], s, -1e30)
        w = np.exp(s - s.max(-1, keepdims=True))
        y = (w / w.sum(-1, keepdims=True)) @ x
        if attention_mask is not None:  # padding rows: garbage, as real models leave them
            y = np.where(attention_mask[..., :, None], y, np.arange(n)[:, None] * 1.0)
        return Output(last_hidden_state=y, pooled=y.mean(-2))

    def with_position(inputs_embeds=None):
        return encoder(inputs_embeds=inputs_embeds, position_scale=0.1)

    def to_dict(inputs_embeds=None):
        return {"last_hidden_state": encoder(inputs_embeds=inputs_embeds).last_hidden_state}
""")


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "encoder.py"
    path.write_text(MODEL)
    return path


ARGS = ["--in", "inputs_embeds=n d", "--out", "last_hidden_state=n d", "--group", "S(n)",
        "--size", "n=6,d=4"]


def test_keyword_inputs_and_attribute_outputs(cli: Cli, model: Path) -> None:
    assert cli("equivariance", f"{model}:encoder", *ARGS).exit_code == 0
    assert cli("equivariance", f"{model}:to_dict", *ARGS).exit_code == 0  # a dict, by key
    r = cli("equivariance", f"{model}:with_position", *ARGS)
    assert r.exit_code == 1  # a position term breaks S(n)
    assert "--in inputs_embeds='n d'" in r.stdout or "--in 'inputs_embeds=n d'" in r.stdout
    bad = cli("equivariance", f"{model}:encoder", "--in", "inputs_embeds=n d", "--out",
              "hidden=n d", "--group", "S(n)", "--size", "n=6,d=4")
    assert bad.exit_code == 2 and "has no output 'hidden'" in bad.stderr
    assert "last_hidden_state" in bad.stderr


def test_partial_inputs_keep_masks_and_ids_and_the_mask_hides_padding(cli: Cli, model: Path,
                                                                       tmp_path: Path) -> None:
    mask = np.array([True, True, True, True, False, False])
    np.savez(tmp_path / "data.npz", attention_mask=mask)
    args = ["--in", "inputs_embeds=n d", "--in", "attention_mask=n", "--out",
            "last_hidden_state=n d", "--group", "S(n)", "--size", "d=4",
            "--inputs", str(tmp_path / "data.npz")]
    # the padding rows are not permutation-equivariant: compared, they fail the check ...
    assert cli("equivariance", f"{model}:encoder", *args).exit_code == 1
    # ... masked, they are not compared, and the real tokens are equivariant
    r = cli("equivariance", f"{model}:encoder", *args, "--mask", "attention_mask")
    assert r.exit_code == 0, r.output
    bad = cli("equivariance", f"{model}:encoder", *args, "--mask", "nope")
    assert bad.exit_code == 2 and "--mask" in bad.stderr


def test_the_python_api_takes_the_same_named_specs(model: Path) -> None:
    import symcheck

    spec = importlib.util.spec_from_file_location("named_encoder", model)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    r = symcheck.check_equivariance(module.encoder, ["inputs_embeds=n d"],
                                    ["last_hidden_state=n d", "pooled=d"], ["S(n)", "O(d)"],
                                    {"n": 5, "d": 4})
    assert r.passed and [str(s) for s in r.outputs] == ["last_hidden_state=n d", "pooled=d"]


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None
                    or importlib.util.find_spec("torch") is None,
                    reason="transformers is not installed (pip install '.[test]')")
def test_a_raw_transformers_bert(cli: Cli, tmp_path: Path) -> None:
    """BertModel with inputs_embeds: its absolute position table breaks S(n); zeroed, the
    encoder is permutation-equivariant."""
    path = tmp_path / "bert.py"
    path.write_text(textwrap.dedent("""
        import torch
        from transformers import BertConfig, BertModel

        def _model(zero_positions):
            torch.manual_seed(0)
            config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=64, vocab_size=50, max_position_embeddings=64,
                                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
            model = BertModel(config, add_pooling_layer=False).eval()
            if zero_positions:
                with torch.no_grad():
                    model.embeddings.position_embeddings.weight.zero_()
                    model.embeddings.token_type_embeddings.weight.zero_()
            return model

        bert = _model(False)
        bert_no_positions = _model(True)
    """))
    args = ["--in", "inputs_embeds=b n d", "--out", "last_hidden_state=b n d", "--group",
            "S(n)", "--size", "b=2,n=8,d=32", "--trials", "4"]
    r = cli("equivariance", f"{path}:bert", *args)
    assert r.exit_code == 1, r.output
    r = cli("equivariance", f"{path}:bert_no_positions", *args)
    assert r.exit_code == 0, r.output


BERT_FILE = """
import torch
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(hidden_size=24, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, vocab_size=10, max_position_embeddings=16)
model = BertModel(config).eval()
if ZERO:
    with torch.no_grad():
        model.embeddings.position_embeddings.weight.zero_()
        model.embeddings.token_type_embeddings.weight.zero_()
"""


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None
                    or importlib.util.find_spec("torch") is None,
                    reason="transformers is not installed (pip install '.[test]')")
@pytest.mark.parametrize(("zero", "expected"), [(False, 1), (True, 0)])
def test_a_file_holding_a_transformers_instance_is_found_and_sized(
    cli: Cli, tmp_path: Path, zero: bool, expected: int
) -> None:
    """The command as users write it: a file whose one model is an instance of a class from
    transformers (found like a function: it is made in the file, not imported), no ``:NAME``
    and no ``--size`` (the embedding width from the model's config, a batch of 2, 8 tokens)."""
    path = tmp_path / "model.py"
    path.write_text(f"ZERO = {zero}\n" + BERT_FILE)
    r = cli("equivariance", path, "--in", "inputs_embeds=b n d", "--out",
            "last_hidden_state=b n d", "--group", "S(n)")
    assert r.exit_code == expected, r.output
    assert "sizes d=24, b=2, n=8" in r.stdout
    # an instance imported from elsewhere is not the file's own
    other = tmp_path / "uses.py"
    other.write_text("from model import model as imported  # noqa\n")
    r = cli("equivariance", other, "--in", "inputs_embeds=b n d")
    assert r.exit_code == 2 and "public callables" in r.output, r.output
