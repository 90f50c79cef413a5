"""Write the inputs files of the samples beside it.

``mask.npz``: the masks of ``padding.py`` (4 tokens, then 2 of padding), both ways round:
``attention_mask`` is True at the real tokens (HuggingFace's), ``src_key_padding_mask`` True at
the padding (torch's). ``ids.npz``: ``input_ids`` for ``bert.py`` (a batch of 2 sequences of 8
token ids below its vocabulary size of 10).

    python samples/options/make_inputs.py
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
valid = np.array([True, True, True, True, False, False])
np.savez(HERE / "mask.npz", attention_mask=valid, src_key_padding_mask=~valid)
np.savez(HERE / "ids.npz", input_ids=np.random.default_rng(0).integers(0, 10, (2, 8)))
