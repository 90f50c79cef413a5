"""Sparse approximation by self-attention: the smallest hidden size ``d`` that reproduces ``A``.

See :func:`approximate` (search), :func:`verify` (recompute a saved claim) and
:func:`measure_params` (the one precision metric every number goes through).
"""

from symcheck.sparse.api import (
    HIDDEN_SIZE,
    METHODS,
    MethodResult,
    SparseApproxResult,
    VerifyResult,
    approximate,
    verify,
)
from symcheck.sparse.jl import jl_measure, jl_params, logit_target, paper_bound
from symcheck.sparse.matrix_io import TargetMatrix, load_matrix, target_from_array
from symcheck.sparse.opt import as_params, fit
from symcheck.sparse.params_io import load_params, save_params
from symcheck.sparse.precision import (
    Precision,
    Targets,
    measure_factors,
    measure_params,
    precision_from_logit_blocks,
)
from symcheck.sparse.search import minimal_d
from symcheck.sparse.structured import circle_params, lower_bound

__all__ = [
    "HIDDEN_SIZE",
    "METHODS",
    "MethodResult",
    "Precision",
    "SparseApproxResult",
    "TargetMatrix",
    "Targets",
    "VerifyResult",
    "approximate",
    "as_params",
    "circle_params",
    "fit",
    "jl_measure",
    "jl_params",
    "load_matrix",
    "load_params",
    "logit_target",
    "lower_bound",
    "measure_factors",
    "measure_params",
    "minimal_d",
    "paper_bound",
    "precision_from_logit_blocks",
    "save_params",
    "target_from_array",
    "verify",
]
