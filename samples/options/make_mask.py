"""Write ``mask.npz``: the ``attention_mask`` of ``padding.py`` (4 tokens, then 2 of padding).

    python samples/options/make_mask.py
"""

from pathlib import Path

import numpy as np

np.savez(Path(__file__).with_name("mask.npz"),
         attention_mask=np.array([True, True, True, True, False, False]))
