"""A raw transformers BertModel, as people ship it (tiny, seeded random weights; nothing is
downloaded). Its absolute position table breaks S(n); its encoder, named with a dotted target
``samples/options/bert.py:model.encoder``, has no positions and keeps S(n)."""

import torch
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(hidden_size=24, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, vocab_size=10, max_position_embeddings=16)
model = BertModel(config).eval()
