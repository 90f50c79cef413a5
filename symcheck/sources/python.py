"""Loading the thing to check from a file: ``model.py`` or ``model.py:name``.

A file that declares exactly one callable with :func:`symcheck.equivariant` needs no name; a
file with a single public function needs none either (its specs then come from the CLI).
Weight files (``.npz``, ``.safetensors``, ``.pt``) are handled by the loaders registered in
:data:`WEIGHT_LOADERS`.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from symcheck.core.specs import AxisSpec

from symcheck.core.errors import (
    InputFileError,
    MissingExtraError,
    ModelError,
    SpecError,
    StopRequest,
)
from symcheck.core.files import model_stdout_to_stderr
from symcheck.core.signature import Signature, signature_of

#: file suffix -> "module:function" that loads saved weights into a checkable model
WEIGHT_LOADERS: dict[str, str] = {
    ".npz": "symcheck.sources.weights.files:load_npz",
    ".safetensors": "symcheck.sources.weights.files:load_safetensors",
    ".pt": "symcheck.sources.weights.files:load_pt",
    ".pth": "symcheck.sources.weights.files:load_pt",
    ".bin": "symcheck.sources.weights.files:load_pt",  # HuggingFace pytorch_model.bin
}
#: packages a model file may import that an extra of symcheck installs -> that extra
FRAMEWORK_EXTRAS: dict[str, str] = {
    "torch": "torch", "jax": "jax", "jaxlib": "jax", "safetensors": "safetensors",
    "e3nn": "e3nn",
}


@dataclass
class LoadedModel:
    """The picked object, where it came from, and what it declares."""

    obj: Any
    name: str
    path: Path
    namespace: dict[str, Any]
    signature: Signature | None


def split_target(target: str) -> tuple[Path, str | None]:
    """``"dir/model.py:attention"`` → ``(Path("dir/model.py"), "attention")``."""
    path, sep, name = target.rpartition(":")
    if sep and path and name and all(part.isidentifier() for part in name.split(".")):
        return Path(path), name
    return Path(target), None


def import_file(path: Path) -> ModuleType:
    """Import a Python file as a fresh module (its folder is importable while it runs)."""
    if path.is_dir():
        raise InputFileError(f"model: {str(path)!r} is a directory; name a .py file in it")
    if not path.is_file():
        raise InputFileError(f"model: file {str(path)!r} does not exist")
    if path.suffix != ".py":
        raise InputFileError(
            f"model: {str(path)!r} is not a .py file (weights need one of: "
            f"{', '.join(sorted(WEIGHT_LOADERS)) or 'no weight loader is registered'})"
        )
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    module_name = f"symcheck_user_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InputFileError(f"model: cannot import {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[module_name] = module
    try:
        with model_stdout_to_stderr():  # stdout may carry the JSON report
            spec.loader.exec_module(module)
    except (KeyboardInterrupt, StopRequest):
        raise
    except SpecError:
        # a malformed @symcheck.equivariant declaration, parsed as the file runs: the error
        # is symcheck's own, worded for the door like any spec error
        sys.modules.pop(module_name, None)
        raise
    except BaseException as exc:  # SystemExit too: a model file never ends the check
        sys.modules.pop(module_name, None)
        top = (getattr(exc, "name", None) or "").partition(".")[0]
        if isinstance(exc, ModuleNotFoundError) and top in FRAMEWORK_EXTRAS:
            raise MissingExtraError(top, FRAMEWORK_EXTRAS[top], f"model {str(path)!r}") from exc
        raise ModelError(
            f"model: importing {str(path)!r} raised {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return module


def _defined_here(obj: Any, module: ModuleType) -> bool:
    owner = getattr(obj, "__module__", None) or getattr(type(obj), "__module__", None)
    return owner == module.__name__


def _is_instance(obj: Any) -> bool:
    """A callable object (an ``nn.Module`` instance, say), not a function, class or module."""
    return not (inspect.isroutine(obj) or inspect.isclass(obj) or inspect.ismodule(obj))


def _assigned_names(path: Path) -> set[str]:
    """Names the file binds at its top level by assignment (``model = BertModel(config)``): an
    instance of a class from elsewhere is the file's own when it is made there, not imported."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign)
                   else [])
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def pick(module: ModuleType, path: Path, name: str | None) -> tuple[str, Any]:
    """The callable called ``name``, or the only declared / only public one."""
    namespace = vars(module)
    if name is not None:
        obj: Any = module
        for part in name.split("."):
            if not hasattr(obj, part):
                declared = sorted(k for k, v in namespace.items() if signature_of(v))
                hint = f"; declared here: {', '.join(declared)}" if declared else ""
                raise ModelError(f"model: {str(path)!r} has no callable named {name!r}{hint}")
            obj = getattr(obj, part)
        return name, obj
    declared = [
        k for k, v in namespace.items()
        if not k.startswith("_") and signature_of(v) is not None and _defined_here(v, module)
    ]
    if len(declared) == 1:
        return declared[0], namespace[declared[0]]
    if len(declared) > 1:
        raise ModelError(
            f"model: {str(path)!r} declares {len(declared)} checked callables "
            f"({', '.join(declared)}); pick one with {path}:NAME"
        )
    public = [
        k for k, v in namespace.items()
        if not k.startswith("_") and inspect.isfunction(v) and _defined_here(v, module)
    ]
    if len(public) == 1:
        return public[0], namespace[public[0]]
    if not public:
        # no function: a class (an nn.Module, say) or a callable object is found the same way
        assigned = _assigned_names(path)
        objects = [
            k for k, v in namespace.items()
            if not k.startswith("_") and callable(v) and (
                _defined_here(v, module) or (_is_instance(v) and k in assigned))
        ]
        if len(objects) == 1:
            return objects[0], namespace[objects[0]]
        public = objects
    raise ModelError(
        f"model: {str(path)!r} declares no checked callable and has "
        f"{len(public)} public callables ({', '.join(public) or 'none'}); "
        f"name one with {path}:NAME or decorate it with @symcheck.equivariant(...)"
    )


def load_python(target: str) -> LoadedModel:
    """Import ``target``'s file and pick its callable; a class is instantiated with no args."""
    path, name = split_target(target)
    module = import_file(path)
    picked, obj = pick(module, path, name)
    if inspect.isclass(obj):
        try:
            with model_stdout_to_stderr():
                obj = obj()
        except (KeyboardInterrupt, StopRequest):
            raise
        except BaseException as exc:
            raise ModelError(
                f"model: {picked!r} is a class and calling {picked}() raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    if not callable(obj):
        raise ModelError(
            f"model: {picked!r} in {str(path)!r} is {type(obj).__name__}, not callable"
        )
    return LoadedModel(obj, picked, path, vars(module), signature_of(obj))


def line_of(obj: Any) -> int | None:
    """The line where ``obj`` (or its class) is defined, for annotations; None if unknown."""
    for candidate in (obj, type(obj)):
        try:
            return inspect.getsourcelines(inspect.unwrap(candidate))[1]
        except (TypeError, OSError, ValueError):
            continue
    return None


VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def parameters(obj: Any) -> list[inspect.Parameter]:
    """The parameters the model is called with: a module's ``forward`` (its ``__call__`` is a
    ``(*args, **kwargs)`` dispatcher in torch), else the callable's own."""
    forward = getattr(obj, "forward", None)
    try:
        return list(inspect.signature(forward if callable(forward) else obj).parameters.values())
    except (TypeError, ValueError):
        return []


def by_position(obj: Any, specs: Sequence[AxisSpec]) -> bool:
    """Whether ``obj`` takes its inputs by position, ``NAME=`` ones too: it has ``*args`` and
    some ``NAME`` is none of its named parameters (a ``(*args, **kwargs)`` wrapper, whose
    names only pick the arrays of a data file).

    >>> from symcheck.core.signature import parse_specs
    >>> by_position(lambda *args, **kwargs: None, parse_specs(["x=n d", "adj=n n"], "inputs"))
    True
    >>> by_position(lambda x, adj: None, parse_specs(["x=n d", "adj=n n"], "inputs"))
    False
    """
    params = parameters(obj)
    if not any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return False
    named = {p.name for p in params if p.kind not in VARIADIC}
    return any(s.name is not None and s.name not in named for s in specs)
