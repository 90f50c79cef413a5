"""Messages that lead to the fix: each one as the user now sees it, one full line per case."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from symcheck.report.sparse import fit_line
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

LINEAR = "def f(x):\n    return 2.0 * x\n"
TWO = "def f(x, y):\n    return x + y\n"
ENCODER = '''import torch
torch.manual_seed(0)
class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    def forward(self, x, src_key_padding_mask):
        y = self.layer(x, src_key_padding_mask=src_key_padding_mask)
        # padding rows hold their position, as garbage a real model leaves there would
        fill = torch.arange(y.shape[1], dtype=y.dtype)[:, None].expand_as(y)
        return torch.where(src_key_padding_mask[..., None], fill, y)
model = Model().eval()
'''
BERT = '''import torch
from transformers import BertConfig, BertModel
torch.manual_seed(0)
model = BertModel(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1,
                             num_attention_heads=2, intermediate_size=37)).eval()
'''
CHECK = '[[check]]\nname = "lin"\nmodel = "lin.py"\ninputs = ["n d"]\noutput = "n d"\n'
PAD = ["--in", "x=b n d", "--in", "src_key_padding_mask=b n", "--out", "b n d", "--group",
       "S(n)", "--size", "d=8"]


def _padding(valid: int) -> np.ndarray:
    mask = np.ones((2, 6), dtype=bool)
    mask[:, :valid] = False
    return mask


def _project(tmp_path: Path) -> None:
    (tmp_path / "lin.py").write_text(LINEAR)
    (tmp_path / "two.py").write_text(TWO)
    (tmp_path / "enc.py").write_text(ENCODER)
    (tmp_path / "group.toml").write_text(CHECK + 'group = ["O(d)"]\n')
    (tmp_path / "checks.toml").write_text('[[checks]]\nname = "x"\n')
    np.save(tmp_path / "neg.npy", -0.5 * np.eye(4))
    np.savez(tmp_path / "allpad.npz", src_key_padding_mask=_padding(0))


MESSAGES = [
    (["equivariance", "lin.py", "--in", "nd", "--out", "n d", "-g", "O(d)"],
     "--in: in 'nd', 'nd' is one label (labels are separated by spaces); did you mean 'n d'?"),
    (["equivariance", "lin.py", "--in", "x=b nd", "--out", "b n d", "-g", "O(d)"],
     "--in: in 'x=b nd', 'nd' is one label (labels are separated by spaces); did you mean "
     "'x=b n d'?"),
    (["equivariance", "lin.py", "--in", "n d", "--out", "n d", "-g", "o(d)"],
     "--group: unknown group 'o(d)'; expected one of O(…), SO(…), E(…), SE(…), T(…), S(…), "
     "C(…), R(…), D(…); did you mean 'O(d)'?"),
    (["equivariance", "lin.py", "--in", "n d", "--out", "n d", "-g", "so(d)"],
     "--group: unknown group 'so(d)'; expected one of O(…), SO(…), E(…), SE(…), T(…), S(…), "
     "C(…), R(…), D(…); did you mean 'SO(d)'?"),
    (["sparse-sweep", "rnd"],
     "FAMILY: 'rnd' is not one of random, band, block, permutation; did you mean 'random'?"),
    (["check", "--config", "group.toml"],
     "group.toml: check 'lin': unknown key 'group'; did you mean 'groups'? (known: name, "
     "model, inputs, output, groups, sizes, trials, seed, rtol, dtype, probes, search, "
     "timeout, mask, padding_mask, data)"),
    (["check", "--config", "checks.toml"],
     "checks.toml: top level: unknown key 'checks'; did you mean 'check'? (known: check)"),
    (["sparse-approx", "neg.npy"],
     "matrix 'neg.npy': entry (0, 0) is a negative value (-0.5); A must be finite and >= 0"),
    (["equivariance", "enc.py:model", *PAD, "--inputs", "allpad.npz", "--padding-mask",
      "src_key_padding_mask"],
     "--padding-mask: input 'src_key_padding_mask' (True at padding) marks all 12 positions "
     "as padding, so nothing would be compared"),
    (["equivariance", "enc.py:model", *PAD, "--size", "b=2,n=6", "--mask",
      "src_key_padding_mask"],
     "--mask: input 'src_key_padding_mask' is drawn at random, so it marks no padding; give "
     "its values (a boolean array 'src_key_padding_mask') in --inputs"),
    (["equivariance", "enc.py:model", *PAD, "--inputs", "allpad.npz", "--mask", "x",
      "--padding-mask", "src_key_padding_mask"],
     "--mask: both mask 'x' and --padding-mask 'src_key_padding_mask' are given; name one"),
]


@pytest.mark.parametrize(("args", "line"), MESSAGES, ids=lambda v: " ".join(v)[:40]
                         if isinstance(v, list) else None)
def test_each_message_is_the_line_the_user_sees(cli: Cli, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                args: list[str], line: str) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert r.stderr.strip().splitlines()[-1] == f"symcheck: error: {line}"


def test_replay_on_another_model_names_the_model_it_was_saved_for(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.py").write_text(
        "import numpy as np\n\ndef positional(x):\n    return x + np.arange(x.shape[0])[:, None]\n"
        "\ndef attention(x, k):\n    return x\n")
    saved = cli("equivariance", "models.py:positional", "--in", "n d", "--out", "n d", "-g",
                "S(n)", "--size", "n=4,d=2", "--save-counterexample", "ce.npz")
    assert saved.exit_code == 1, saved.output
    r = cli("replay", "ce.npz", "models.py:attention")
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "symcheck: error: counterexample: 'ce.npz' was saved for 'positional' (inputs 'n d'), "
        "and 'attention' cannot run on them (model 'attention' raised TypeError: attention() "
        "missing 1 required positional argument: 'k'); replay it on the model it was saved "
        "for: symcheck replay ce.npz models.py:positional")
    assert cli("replay", "ce.npz", "models.py:positional").exit_code == 1


@pytest.mark.parametrize(
    ("flag", "mask", "code"),
    [("--padding-mask", _padding(4), 0),  # True at padding, read as such: the real tokens pass
     ("--mask", _padding(4), 1)],  # read as True where valid: the padding rows are compared
)
def test_a_mask_says_its_polarity_and_how_many_positions_were_compared(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str,
        mask: np.ndarray, code: int) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "pad.npz", src_key_padding_mask=mask)
    r = cli("equivariance", "enc.py:model", *PAD, "--inputs", "pad.npz", flag,
            "src_key_padding_mask", "--json", "out.json")
    assert r.exit_code == code, r.output
    polarity, compared = ("True at padding", 8) if flag == "--padding-mask" else \
        ("True where valid", int(mask.sum()))
    line = (f"mask src_key_padding_mask ({polarity}): {compared} of its 12 positions compared, "
            f"{12 - compared} padding not compared")
    assert line in r.stdout.splitlines()
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["mask"] == {"input": "src_key_padding_mask",
                              "true_at": "padding" if flag == "--padding-mask" else "valid",
                              "compared": compared, "positions": 12}
    if code == 1:  # the replay command keeps the flag
        assert f"{flag} src_key_padding_mask" in r.stdout


def test_floats_given_to_an_embedding_say_to_pass_token_ids(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bert.py").write_text(BERT)
    args = ["equivariance", "bert.py", "--in", "input_ids=b n", "--out",
            "last_hidden_state=b n d", "--group", "S(n)", "--no-probes"]
    r = cli(*args)
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "symcheck: error: --inputs: input 'input_ids' of 'BertModel' takes integer token ids "
        "(torch: Expected tensor for argument #1 'indices' to have one of the following scalar "
        "types: Long, Int; but got torch.DoubleTensor), and symcheck draws floats: give the ids "
        "as an integer array named 'input_ids' in an inputs file; pass e.g. --inputs ids.npz")
    # ... and doing so gives the verdict: BERT's position embeddings break S(n)
    np.savez(tmp_path / "ids.npz",
             input_ids=np.random.default_rng(0).integers(0, 100, (2, 8)))
    assert cli(*args, "--inputs", "ids.npz").exit_code == 1


@pytest.mark.parametrize(
    ("slope", "intercept", "line"),
    [(0.75, 1.5, "opt: slope 0.750 per log₂ L (least squares d ≈ 1.5 + 0.750·log₂ L)"),
     (-1.25, 9.0, "opt: slope -1.250 per log₂ L (least squares d ≈ 9.0 − 1.250·log₂ L)"),
     (-1e-4, 4.0, "opt: slope 0 per log₂ L (least squares d ≈ 4.0 at every L)"),
     (0.0, 4.0, "opt: slope 0 per log₂ L (least squares d ≈ 4.0 at every L)")],
)
def test_the_sweep_fit_line_never_prints_minus_zero(slope: float, intercept: float,
                                                    line: str) -> None:
    assert fit_line("opt", slope, intercept) == line
