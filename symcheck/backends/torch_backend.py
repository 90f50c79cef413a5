"""The torch backend: run an ``nn.Module`` or a torch function on numpy inputs.

Which objects it claims (when torch is already imported, see :func:`symcheck.backends.adapt`):

- any ``torch.nn.Module`` instance;
- a plain function defined in a file whose globals import torch (``import torch``,
  ``import torch.nn.functional as F``): such a function is assumed to take tensors.

A file that imports both numpy and torch is therefore run with tensors, and one that imports
torch and jax with torch (a ``jax.jit`` object excepted); ``backend`` (numpy, torch or jax)
overrides the choice. Modules are user objects, so they are never changed in place: the module is
deep-copied, the copy is cast to the check's dtype (float64 by default, ``dtype='float32'`` to
test the deployed precision) and put in eval mode (dropout off, batch-norm statistics frozen),
and every call runs under ``torch.no_grad()``. A plain function cannot be cast: tensors it
closes over keep their own dtype.

>>> import torch                                               # doctest: +SKIP
>>> fn = BACKEND.wrap(torch.nn.Linear(4, 4), "float64")        # doctest: +SKIP
>>> fn(np.ones((3, 4))).shape                                  # doctest: +SKIP
(3, 4)
"""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import numpy as np

from symcheck.backends import Backend, NumpyFn, import_framework, imports_framework
from symcheck.core.errors import ModelError, SpecError, Suggest


def _torch(what: str) -> ModuleType:
    return import_framework("torch", what)


class TorchBackend(Backend):
    name = "torch"

    def claims(self, obj: object, namespace: dict[str, Any] | None) -> bool:
        torch = _torch("the torch backend")
        if isinstance(obj, torch.nn.Module):
            return True
        if type(obj).__module__.split(".")[0] in ("jax", "jaxlib"):
            return False  # a jitted jax function in a file that also imports torch
        return imports_framework(obj, namespace, "torch")

    def wrap(self, obj: Any, dtype: str) -> NumpyFn:
        torch = _torch("running a torch model")
        torch_dtype = getattr(torch, dtype, None)
        if not isinstance(torch_dtype, torch.dtype) or not torch_dtype.is_floating_point:
            raise SpecError(f"{dtype!r} is not a floating-point torch dtype", argument="dtype",
                            value=dtype)
        name = getattr(obj, "__name__", type(obj).__name__)
        device = torch.device("cpu")
        if isinstance(obj, torch.nn.Module):
            # A copy: casting or eval() on the user's own module would change it for them.
            model = copy.deepcopy(obj).to(torch_dtype).eval()
            first = next(iter(model.parameters()), None)
            if first is not None:
                device = first.device
        else:
            model = obj

        def tensor(a: np.ndarray) -> Any:
            t = torch.from_numpy(np.ascontiguousarray(a)).to(device)
            return t.to(torch_dtype) if t.is_floating_point() else t  # ids and masks keep theirs

        def run(*arrays: np.ndarray, **named: np.ndarray) -> Any:
            try:
                with torch.no_grad():
                    out = model(*(tensor(a) for a in arrays),
                                **{k: tensor(a) for k, a in named.items()})
            except RuntimeError as exc:
                if _INDICES_ERROR not in str(exc):
                    raise
                raise token_ids_error(name, str(exc), arrays, named) from exc
            return to_numpy(torch, out, keep_dtype=True)

        run.__name__ = name
        return run


#: what torch says when an embedding is given floats where it looks up integer ids
_INDICES_ERROR = "Expected tensor for argument #1 'indices' to have one of the following scalar"


def token_ids_error(model: str, error: str, arrays: tuple[np.ndarray, ...],
                    named: dict[str, np.ndarray]) -> ModelError:
    """An embedding was given drawn floats: say which input takes token ids and what to pass.

    >>> import numpy as np
    >>> e = token_ids_error("m", "Expected tensor ... (while checking)", (),
    ...                     {"input_ids": np.zeros(8)})
    >>> e.message.split(":")[0]
    "input 'input_ids' of 'm' takes integer token ids (torch"
    """
    floats = [(f"input {i}", "") for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    floats += [(f"input {k!r}", f" named {k!r}") for k, a in named.items() if a.dtype.kind == "f"]
    which = floats[0][0] if len(floats) == 1 else \
        f"one of the inputs ({', '.join(n for n, _ in floats)})"
    shape = floats[0][1] if len(floats) == 1 else ""
    cause = error.split(" instead")[0].strip()
    return ModelError(
        f"{which} of {model!r} takes integer token ids (torch: {cause}), and symcheck "
        f"draws floats: give the ids as an integer array{shape} in an inputs file",
        argument="data", hint=Suggest("data", "ids.npz"))


def to_numpy(torch: ModuleType, out: Any, keep_dtype: bool = False) -> Any:
    """Tensors (also inside tuples and lists) to numpy; anything else as is.

    Floats become float64 (which holds every float16/bfloat16/float32 value exactly), or with
    ``keep_dtype`` keep their own precision, so the engine sees the dtype the model computed
    in (bfloat16, which numpy lacks, arrives as the float32 that holds it exactly).
    """
    if isinstance(out, tuple | list):
        return tuple(to_numpy(torch, o, keep_dtype) for o in out)
    if isinstance(out, dict) or _is_model_output(out):  # a dict or a ModelOutput, by name
        return {k: to_numpy(torch, v, keep_dtype) for k, v in out.items()}
    if isinstance(out, torch.Tensor):
        t = out.detach().cpu()
        if t.is_floating_point():
            if not keep_dtype:
                t = t.to(torch.float64)
            elif t.dtype == torch.bfloat16:
                t = t.to(torch.float32)
        return t.resolve_conj().numpy() if t.is_complex() else t.numpy()
    return out


def _is_model_output(out: Any) -> bool:
    """transformers' ``ModelOutput`` (an ordered dict) without importing transformers."""
    return any(c.__name__ == "ModelOutput" for c in type(out).__mro__)


BACKEND = TorchBackend()
