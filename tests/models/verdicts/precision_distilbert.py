"""A HuggingFace DistilBERT (random weights from a small config, float32, nothing fetched) fed
integer token ids, with its position embeddings zeroed so that it is S(n)-equivariant: a
float64 check sees its float32 parameters, measures that re-rounding them moves the
equivariance residual by round-off only, says so and passes it at the float64 floor; the same
model with a position term (2e-6 per position, relative) fails.

    symcheck equivariance precision_distilbert.py:model --inputs token_ids.npz      # exit 0
    symcheck equivariance precision_distilbert.py:planted --inputs token_ids.npz    # exit 1
"""

import torch
from transformers import DistilBertConfig, DistilBertModel

import symcheck

torch.manual_seed(0)
_CONFIG = DistilBertConfig(vocab_size=50, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                           max_position_embeddings=16, sinusoidal_pos_embds=False)
_bert = DistilBertModel(_CONFIG).eval()
with torch.no_grad():  # no positions: the model is permutation-equivariant
    _bert.embeddings.position_embeddings.weight.zero_()

_SPECS = dict(inputs=["input_ids=b n"], output="b n d", groups=["S(n)"], sizes={"d": 32})


class Encoder(torch.nn.Module):
    """The last hidden state of the position-free DistilBERT."""

    def __init__(self, plant: float = 0.0) -> None:
        super().__init__()
        self.bert = _bert
        self.plant = plant

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        h = self.bert(input_ids=input_ids).last_hidden_state
        if self.plant:  # a term that depends on the position alone
            n = h.shape[-2]
            h = h + self.plant * torch.arange(n, dtype=h.dtype)[:, None] * h.abs().mean()
        return h


model = symcheck.equivariant(**_SPECS)(Encoder())
planted = symcheck.equivariant(**_SPECS)(Encoder(plant=2e-6))
