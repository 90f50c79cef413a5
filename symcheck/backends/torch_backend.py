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
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from symcheck.backends import Backend, NumpyFn, import_framework, imports_framework
from symcheck.core.errors import ModelError, SpecError, Suggest
from symcheck.core.tolerances import RESOLUTION
from symcheck.engine.problem import OwnPrecision


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
        torch_dtype = _dtype(torch, dtype)
        name = getattr(obj, "__name__", type(obj).__name__)
        if isinstance(obj, torch.nn.Module):
            # A copy: casting or eval() on the user's own module would change it for them.
            return _runner(torch, copy.deepcopy(obj).to(torch_dtype).eval(), torch_dtype, name)
        return _runner(torch, obj, torch_dtype, name)

    def own_precision(self, obj: Any, dtype: str) -> OwnPrecision | None:
        """A module's parameters and buffers in a lower precision than ``dtype`` (float32
        weights in a float64 check), or, in a float64 check, float64 ones that hold only
        float32 values (built under torch's float32 default, then cast): the model is only
        defined to that precision. Perturbing them at their resolution measures what it can
        produce."""
        torch = _torch("running a torch model")
        if not isinstance(obj, torch.nn.Module) or dtype not in RESOLUTION:
            return None
        tensors = {**dict(obj.named_parameters()), **dict(obj.named_buffers())}
        floats = {n: t for n, t in tensors.items() if t.is_floating_point() and t.numel()}
        kinds = {n: str(t.dtype).removeprefix("torch.") for n, t in floats.items()}
        lowest = max(kinds.values(), key=lambda k: RESOLUTION.get(k, 0.0), default=None)
        if lowest is not None and RESOLUTION.get(lowest, 0.0) > RESOLUTION[dtype]:
            names = [n for n, k in kinds.items() if k == lowest]
            cause = (f"its parameters are {lowest}" if len(names) == len(floats) else
                     f"{len(names)} of its {len(floats)} parameter tensors are {lowest}")
        elif dtype == "float64":
            lowest = "float32"
            names = [n for n, t in floats.items() if t.dtype == torch.float64
                     and _float32_rounded(t.detach().cpu().numpy())]
            which = ("its float64 parameter tensors hold" if len(names) == len(floats) else
                     f"{len(names)} of its {len(floats)} float64 parameter tensors "
                     f"{'holds' if len(names) == 1 else 'hold'}")
            cause = f"{which} float32-rounded values (built in float32, then cast)"
            if not names:
                return None
        else:
            return None
        return OwnPrecision(lowest, cause, _perturber(torch, obj, dtype, lowest, names))


def _dtype(torch: ModuleType, dtype: str) -> Any:
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype) or not torch_dtype.is_floating_point:
        raise SpecError(f"{dtype!r} is not a floating-point torch dtype", argument="dtype",
                        value=dtype)
    return torch_dtype


def _runner(torch: ModuleType, model: Any, torch_dtype: Any, name: str) -> NumpyFn:
    """``model`` (a module already cast, or a function) as a function of numpy arrays."""
    device = torch.device("cpu")
    if isinstance(model, torch.nn.Module):
        first = next(iter(model.parameters()), None)
        if first is not None:
            device = first.device

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


def _float32_rounded(a: np.ndarray) -> bool:
    """Whether float64 values are float32 values that need float32's mantissa: each is exact
    in float32, and some are neither integers nor exact in float16 (ones, zeros, small
    integers and halves are exact in every precision and say nothing).

    >>> import numpy as np
    >>> [_float32_rounded(np.array(v)) for v in ([0.1], [np.float32(0.1)], [1.0, 0.5, 3.0])]
    [False, True, False]
    """
    a = np.asarray(a, dtype=np.float64).ravel()
    if not np.all(np.isfinite(a)) or not np.array_equal(a.astype(np.float32), a):
        return False
    with np.errstate(over="ignore"):
        plain = (a == np.round(a)) | (a.astype(np.float16).astype(np.float64) == a)
    return not bool(np.all(plain))


def _perturber(torch: ModuleType, obj: Any, dtype: str, lowest: str,
               names: list[str]) -> Callable[[np.random.Generator], NumpyFn]:
    """``perturbed(rng)``: the module cast to ``dtype`` with the tensors ``names`` each moved
    by a relative uniform amount within half their dtype's resolution (a re-rounding). One
    copy serves every call, reset from its originals each time: use each before the next."""
    torch_dtype = _dtype(torch, dtype)
    name = getattr(obj, "__name__", type(obj).__name__)
    state: dict[str, Any] = {}

    def perturbed(rng: np.random.Generator) -> NumpyFn:
        if not state:
            model = copy.deepcopy(obj).to(torch_dtype).eval()
            tensors = {**dict(model.named_parameters()), **dict(model.named_buffers())}
            state.update(model=model, tensors={n: tensors[n] for n in names},
                         original={n: tensors[n].detach().clone() for n in names})
        half = RESOLUTION[lowest] / 2
        with torch.no_grad():
            for n, t in state["tensors"].items():
                u = torch.from_numpy(rng.uniform(-half, half, tuple(t.shape))).to(t)
                t.copy_(state["original"][n] * (1 + u))
        return _runner(torch, state["model"], torch_dtype, name)

    return perturbed


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
