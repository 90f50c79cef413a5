"""Self-attention over a padded sequence, as encoders ship it: no token attends to padding, and
the padding rows of the output are left as they fall (here: their position index), which only a
mask hides. ``encoder`` takes HuggingFace's ``attention_mask`` (True at the real tokens, named
with ``--mask``), ``padded_encoder`` the same layer with torch's ``src_key_padding_mask`` (True
at the padding, named with ``--padding-mask``); ``mask.npz`` holds both.

    symcheck equivariance samples/options/padding.py:encoder --inputs samples/options/mask.npz \\
        --mask attention_mask
    symcheck equivariance samples/options/padding.py:padded_encoder \\
        --inputs samples/options/mask.npz --padding-mask src_key_padding_mask
"""

import numpy as np

import symcheck


@symcheck.equivariant(inputs=["inputs_embeds=n d", "attention_mask=n"], output="n d",
                      groups=["S(n)"], sizes={"n": 6, "d": 4})
def encoder(inputs_embeds, attention_mask):
    x = inputs_embeds
    n = x.shape[-2]
    s = x @ np.swapaxes(x, -1, -2) / np.sqrt(x.shape[-1])
    s = np.where(attention_mask[..., None, :], s, -1e30)
    w = np.exp(s - s.max(-1, keepdims=True))
    y = (w / w.sum(-1, keepdims=True)) @ x
    return np.where(attention_mask[..., :, None], y, np.arange(n)[:, None] * 1.0)


@symcheck.equivariant(inputs=["inputs_embeds=n d", "src_key_padding_mask=n"], output="n d",
                      groups=["S(n)"], sizes={"n": 6, "d": 4})
def padded_encoder(inputs_embeds, src_key_padding_mask):
    return encoder(inputs_embeds, ~src_key_padding_mask)
