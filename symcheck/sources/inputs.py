"""Inputs a user supplies from a file: an ``.npz`` of arrays, matched to the model's parameters.

>>> import inspect
>>> list(inspect.signature(load_inputs).parameters)
['path', 'obj', 'specs']
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from symcheck.core.errors import InputFileError, Phrase, Use
from symcheck.core.files import read_npz
from symcheck.core.specs import AxisSpec
from symcheck.sources.python import VARIADIC, parameters


def _name_them(obj: Any, names: Sequence[str | None]) -> Phrase | None:
    """For a model without named parameters for its inputs: how to name the arrays."""
    if any(names) or not any(p.kind is inspect.Parameter.VAR_POSITIONAL
                             for p in parameters(obj)):
        return None
    return Phrase("the model takes *args: name each input after its array (NAME=SPEC in ",
                  Use("inputs"), "); they are passed by position, in that order")


def load_inputs(path: Path, obj: Any, specs: Sequence[AxisSpec]) -> list[Any]:
    """Arrays from an .npz for the inputs declared by ``specs``.

    By name when the file names any input — the ``NAME`` of a ``NAME=SPEC`` input, else the
    callable's parameter at that position — and then the inputs it does not name are drawn at
    random; otherwise in order, one array per input. Floats, integers (token ids) and booleans
    (masks) are accepted, and the latter two keep their dtype.
    """
    arrays = read_npz(path, "data")
    params = [p.name for p in parameters(obj) if p.kind not in VARIADIC]
    names: list[str | None] = []
    position = 0
    for spec in specs:
        if spec.name is not None:
            names.append(spec.name)
        else:
            names.append(params[position] if position < len(params) else None)
            position += 1
    if any(n in arrays for n in names if n is not None):
        chosen: list[str | None] = [n if n in arrays else None for n in names]
    elif len(arrays) >= len(specs):
        chosen = [*list(arrays)[:len(specs)]]
    else:
        raise InputFileError(
            f"{str(path)!r} holds {len(arrays)} array{'' if len(arrays) == 1 else 's'} "
            f"({', '.join(arrays)}) but the model "
            f"takes {len(specs)} inputs and the file names none of them "
            f"({', '.join(n for n in names if n) or 'no names'})", argument="data",
            value=str(path), hint=_name_them(obj, names),
        )
    import numpy as np

    for k in chosen:
        if k is not None and arrays[k].dtype.kind not in "fiub":
            raise InputFileError(f"array {k!r} has dtype {arrays[k].dtype}, not numeric",
                                 argument="data", value=str(path))
        if k is not None and arrays[k].dtype.kind == "f" and not np.isfinite(arrays[k]).all():
            bad = int(np.size(arrays[k]) - np.count_nonzero(np.isfinite(arrays[k])))
            raise InputFileError(f"array {k!r} holds {bad} non-finite values (NaN or inf): an "
                                 "input the check compares on must be finite", argument="data",
                                 value=str(path))
    return [None if k is None else arrays[k] for k in chosen]
