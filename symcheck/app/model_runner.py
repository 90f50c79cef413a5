"""The equivariance of a callable (``symcheck equivariance model.py``, a ``model`` check,
``check_equivariance``): load, merge the declaration, size, wrap, resolve, check."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from symcheck.app import outcomes as recipe
from symcheck.app.outcomes import Evidence, Outcome
from symcheck.app.requests import ModelRequest
from symcheck.app.service import _inputs, _load, _same_input_count, own_precision, wrap_model
from symcheck.core.signature import Signature
from symcheck.engine.equivariance import (
    EquivarianceResult,
    check_problem,
)
from symcheck.engine.problem import Problem, resolve
from symcheck.sources.python import by_position, line_of


def run_model(request: ModelRequest) -> Outcome:
    """``symcheck equivariance model.py``, a ``model`` check, ``check_equivariance``."""
    loaded = _load(request.target, request.obj, request.name)
    m = request.measure
    _same_input_count(loaded, request.declared.inputs)
    signature = request.declared.merge(loaded.signature, m)
    arrays, source = _inputs(request, loaded.obj, signature.inputs)
    if arrays is None:
        signature = config_sizes(loaded.obj, signature)
    fn = wrap_model(loaded.obj, m.dtype, request.backend)
    # the user's data is probed (weights never are); below float64 the same model in float64
    # measures the rounding level
    reference = (None if m.dtype == "float64"
                 else wrap_model(loaded.obj, "float64", request.backend))
    problem = resolve(fn, signature, m.dtype, arrays, loaded.name,
                      probe_data=arrays is not None, reference=reference,
                      positional=by_position(loaded.obj, signature.inputs),
                      precision=own_precision(loaded.obj, m.dtype, request.backend))
    # what the model declares (trials, rtol) where the door set nothing: checked like the
    # door's own values, since a declaration is input too
    options = replace(m, trials=signature.trials, rtol=signature.rtol).validated()
    result = check_problem(problem, options, source)
    repro = recipe.of_model(request.target, signature, result, options,
                            data=None if request.data is None else str(request.data),
                            backend=request.backend)
    return Outcome("model", result.verdict, result, repro, _evidence(problem, result),
                   file=loaded.file, line=line_of(loaded.obj))


#: a model's configuration attributes that give its embedding width (HuggingFace names)
HIDDEN_ATTRIBUTES = ("hidden_size", "d_model", "n_embd")
#: sizes a model with a configuration gets for labels no option sized: a batch of 2, 8 tokens
CONFIG_BATCH, CONFIG_TOKENS = 2, 8


def config_sizes(obj: Any, signature: Signature) -> Signature:
    """Sizes for the labels nothing sized, from the configuration a model carries (a
    ``transformers`` model's ``config``): the last axis of each output is the embedding
    (``hidden_size``), a leading ``b`` is a batch of 2, any other label 8 tokens (at most
    ``max_position_embeddings``). Without such a configuration the signature is unchanged
    and a missing size stays the error that names it.

    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(config=SimpleNamespace(hidden_size=24))
    >>> config_sizes(model, Signature.parse(("inputs_embeds=b n d",), ("b n d",))).sizes
    {'d': 24, 'b': 2, 'n': 8}
    >>> config_sizes(model, Signature.parse(("b n d",), ("b n d",), sizes={"n": 5})).sizes
    {'n': 5, 'd': 24, 'b': 2}
    >>> config_sizes(model, Signature.parse(("input_ids=b n",), ("b n d",))).sizes
    {'d': 24, 'b': 2, 'n': 8}
    """
    config = getattr(obj, "config", None)
    width = next((getattr(config, a) for a in HIDDEN_ATTRIBUTES
                  if isinstance(getattr(config, a, None), int)), None)
    if config is None or not isinstance(width, int) or width <= 0:
        return signature
    longest = getattr(config, "max_position_embeddings", None)
    tokens = min(CONFIG_TOKENS, longest) if isinstance(longest, int) and longest > 0 \
        else CONFIG_TOKENS
    sizes = dict(signature.sizes)
    specs, outputs = signature.inputs, signature.outputs
    for spec in outputs:  # what the model returns ends with the embedding (not the n of
        if spec.labels and spec.labels[-1] not in sizes:  # token ids "b n" given as input)
            sizes[spec.labels[-1]] = width
    for spec in [*specs, *outputs]:
        for k, label in enumerate(spec.labels):
            if label not in sizes:
                sizes[label] = CONFIG_BATCH if (k == 0 and label == "b") else tokens
    return replace(signature, sizes=sizes)


def _evidence(problem: Problem, result: EquivarianceResult) -> Evidence | None:
    failing = result.worst_failure()
    if failing is None:
        return None
    m = failing.measurement
    if m.worst_evaluation is None:
        return None
    return Evidence(problem, m.worst_evaluation, m.worst.case_id, m.worst.error,
                    failing.tolerance)
