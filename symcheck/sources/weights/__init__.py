"""Saved attention weights: reading files, layouts, reference forwards, the co-transform check.

>>> from symcheck.sources.weights import LAYOUTS
>>> sorted(LAYOUTS)
['bert', 'gpt2', 'llama', 'plain', 'torch-encoder', 'torch-mha']
"""

from symcheck.sources.weights.check import Settings, WeightsResult, check_layer, check_weights
from symcheck.sources.weights.files import load_weights, read_config
from symcheck.sources.weights.layouts import LAYOUTS, Layer, build_layer, find_layer

__all__ = [
    "LAYOUTS", "Layer", "Settings", "WeightsResult", "build_layer", "check_layer",
    "check_weights", "find_layer", "load_weights", "read_config",
]
