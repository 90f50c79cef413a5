"""Saved attention weights: reading files, layouts, reference forwards, the co-transform check.

>>> from symcheck.sources.weights import LAYOUTS
>>> sorted(LAYOUTS)
['bert', 'gpt2', 'llama', 'plain', 'torch-encoder', 'torch-mha']
"""

from symcheck.sources.weights.check import Settings, WeightsResult, check_layer, check_weights
from symcheck.sources.weights.files import load_weights, read_config
from symcheck.sources.weights.fold import FoldResult, fold_norms
from symcheck.sources.weights.layouts import (
    LAYOUTS,
    Layer,
    build_layer,
    find_layer,
    layer_from_config,
)
from symcheck.sources.weights.stack import (
    Stack,
    build_stack,
    check_stack,
    find_layers,
    layer_forwards,
    load_stack,
    stack_forward,
)

__all__ = [
    "LAYOUTS", "FoldResult", "Layer", "Settings", "Stack", "WeightsResult", "build_layer",
    "build_stack", "check_layer", "check_stack", "check_weights", "find_layer", "find_layers",
    "fold_norms", "layer_forwards", "layer_from_config", "load_stack", "load_weights",
    "read_config", "stack_forward",
]
