"""The checks a project declares for ``symcheck check``, read from TOML and validated strictly.

Two places, the same tables::

    # pyproject.toml                      # symcheck.toml
    [[tool.symcheck.check]]               [[check]]
    name = "attention"                    name = "attention"
    model = "models.py:attention"         model = "models.py:attention"
    groups = ["O(d)", "S(n)"]             groups = ["O(d)", "S(n)"]

Each check names exactly one thing to check: ``model`` (a Python callable), ``weights`` (saved
attention weights) or ``matrix`` (a target matrix for sparse approximation); that key is the
check's *kind*. Paths are relative to the folder of the configuration file. Everything that can
be wrong without running a model (unknown or missing keys, wrong types, malformed group names or
axis specs, duplicate names) is a :class:`ConfigError`, which names the file, the check and the
key; it makes ``symcheck check`` exit 2 before any check runs.

>>> cfg = parse_config({"check": [{"name": "a", "model": "m.py:f", "groups": "S(n)"}]},
...                    Path("symcheck.toml"))
>>> cfg.checks[0].kind, [str(g) for g in cfg.checks[0].options["groups"]]
('model', ['S(n)'])
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from symcheck.core.errors import (
    Metavar,
    Phrase,
    SpecError,
    SymcheckError,
    Use,
    Wording,
    close_match,
)
from symcheck.core.options import Kind, declared
from symcheck.core.signature import WEIGHT_MODES

if TYPE_CHECKING:
    from symcheck.core.groups import GroupName
    from symcheck.core.specs import AxisSpec

CONFIG_NAMES = ("symcheck.toml", "pyproject.toml")
PATH = Metavar("PATH")
KINDS = ("model", "weights", "matrix")


class ConfigError(SymcheckError):
    """The configuration file is missing, malformed, or declares a check wrongly."""


class ConfigWording(Wording):
    """Errors as a configuration file words them: ``sizes: …; pass e.g. sizes = { d = 8 }``."""

    door = "config"
    KEYS: ClassVar[dict[str, str]] = {"outputs": "output", "weights": "mode"}

    def name(self, argument: str) -> str:
        return self.KEYS.get(argument, argument)

    def example(self, argument: str, value: Any) -> str:
        return f"{self.name(argument)} = {_toml(value)}"


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Metavar):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


CONFIG = ConfigWording()


Validator = Callable[[Any, str], Any]


def _string_list(value: Any, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise ConfigError(f"{where} must be a string or a non-empty list of strings, "
                          f"got {value!r}")
    return list(items)


def _specs(value: Any, where: str) -> tuple[AxisSpec, ...]:
    """The file's specs, parsed here (the configuration is a door)."""
    from symcheck.core.specs import AxisSpec

    try:
        return tuple(AxisSpec.parse(text) for text in _string_list(value, where))
    except SpecError as exc:
        raise ConfigError(f"{where}: {exc.worded(CONFIG, named=False)}") from None


def _groups(value: Any, where: str) -> tuple[GroupName, ...]:
    """The file's group names, parsed here."""
    from symcheck.core.groups import GroupName

    texts = _string_list(value, where)
    try:
        groups = tuple(GroupName.parse(text) for text in texts)
    except SpecError as exc:
        raise ConfigError(f"{where}: {exc.worded(CONFIG, named=False)}") from None
    if len(set(groups)) != len(groups):
        raise ConfigError(f"{where}: a group is named twice in {texts}")
    return groups


def _sizes(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where} must be a table such as {{ n = 8, d = 16 }}, got {value!r}")
    for label, size in value.items():
        if not label.isidentifier() or not _is_int(size) or size < 1:
            raise ConfigError(f"{where}: {label} = {size!r} must be a positive integer")
    return dict(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_at_least(low: int) -> Validator:
    def check(value: Any, where: str) -> int:
        if not _is_int(value) or value < low:
            raise ConfigError(f"{where} must be an integer ≥ {low}, got {value!r}")
        return int(value)
    return check


def _positive_float(value: Any, where: str) -> float:
    import math

    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value > 0):
        raise ConfigError(f"{where} must be a finite positive number, got {value!r}")
    return float(value)


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    return value


def _path(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be a file path (a non-empty string), got {value!r}")
    return value


def _choice(*allowed: str) -> Validator:
    def check(value: Any, where: str) -> str:
        if value not in allowed:
            raise ConfigError(f"{where} must be one of {', '.join(allowed)}, got {value!r}")
        return str(value)
    return check


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _sequence_length(value: Any, where: str) -> dict[str, int]:
    sizes = _sizes(value, where)
    other = sorted(set(sizes) - {"n"})
    if other:
        raise ConfigError(f"{where}: {other[0]!r} comes from the weights file; only n (the test "
                          "sequence length) can be set")
    return sizes


def _leak_precision(value: Any, where: str) -> float:
    number = _positive_float(value, where)
    if not number < 1:
        raise ConfigError(f"{where} must lie strictly between 0 and 1, got {value!r}")
    return number


def _option(kind: Kind) -> Validator:
    """A declared measurement option's check, worded for the file: ``'trials' must be an
    integer ≥ 1, got 0``, or the declaration's own message past a cap."""
    def check(value: Any, where: str) -> Any:
        if not kind.conforms(value):
            raise ConfigError(f"{where} must be {kind.expected}, got {value!r}")
        try:
            return kind.check(value, "value")
        except SpecError as exc:
            raise ConfigError(f"{where}: {exc.message}") from None
    return check


#: the measurement options a file may set: every declared one that says so
_MEASURE_OPTIONS: dict[str, Validator] = {
    name: _option(option.kind) for name, option in declared() if option.config}

_EQUIVARIANCE_OPTIONS: dict[str, Validator] = {
    "inputs": _specs,
    "output": _specs,
    "groups": _groups,
    "sizes": _sizes,
    **_MEASURE_OPTIONS,
    "mask": _string,
    "padding_mask": _string,
    "data": _path,  # an .npz of inputs (a mask's values come from it), beside the config
}

#: kind -> the optional keys a check of that kind accepts, with their validators
OPTIONS: dict[str, dict[str, Validator]] = {
    "model": dict(_EQUIVARIANCE_OPTIONS),
    # what `symcheck equivariance WEIGHTS` takes: d comes from the file, inputs are "n d"
    "weights": {
        "groups": _groups,
        "sizes": _sequence_length,
        "trials": _MEASURE_OPTIONS["trials"],
        "seed": _MEASURE_OPTIONS["seed"],
        "rtol": _MEASURE_OPTIONS["rtol"],
        "dtype": _MEASURE_OPTIONS["dtype"],
        "layer": _string,
        "heads": _int_at_least(1),
        "mode": _choice(*WEIGHT_MODES),
        "component": _choice("attention", "block"),
        "timeout": _MEASURE_OPTIONS["timeout"],
        "fold_norms": _boolean,
        "breakdown": _boolean,
    },
    # what `symcheck.sparse.approximate` takes
    "matrix": {
        "precision": _leak_precision,
        "max_d": _int_at_least(1),
        "seed": _int_at_least(0),
        "method": _choice("auto", "opt", "jl", "poly"),
    },
}

DEFAULTS: dict[str, Any] = {"seed": 0}


def known_keys(kind: str | None = None) -> list[str]:
    """The keys a check of ``kind`` may have, in documentation order (any kind when None)."""
    keys = ["name", *(KINDS if kind is None else [kind])]
    for k in KINDS if kind is None else [kind]:
        keys += [key for key in OPTIONS[k] if key not in keys]
    return keys


@dataclass(frozen=True)
class CheckSpec:
    """One declared check, validated; ``options`` holds its optional keys (seed defaulted)."""

    name: str
    kind: str  # "model" | "weights" | "matrix"
    target: str  # the path as written, for a model possibly with ":NAME"
    path: Path  # the file, resolved against the configuration's folder
    member: str | None  # the NAME of "models.py:NAME"
    options: Mapping[str, Any] = field(default_factory=dict)
    config: Path | None = None  # the file that declares the check

    @property
    def display_path(self) -> str:
        """The file relative to the current directory when it is below it (else absolute)."""
        return shown_path(self.path)

    @property
    def display_target(self) -> str:
        """What ``symcheck equivariance`` would be given to check the same callable."""
        return f"{self.display_path}:{self.member}" if self.member else self.display_path


@dataclass(frozen=True)
class Config:
    """A configuration file and the checks it declares, in file order."""

    path: Path
    checks: tuple[CheckSpec, ...]

    @property
    def display_path(self) -> str:
        return shown_path(self.path)

    def select(self, only: Sequence[str] | None) -> list[CheckSpec]:
        """The checks named in ``only`` (all when empty), in file order."""
        if not only:
            return list(self.checks)
        names = [c.name for c in self.checks]
        for wanted in only:
            if wanted not in names:
                raise ConfigError(
                    f"no check named {wanted!r} in {self.display_path} "
                    f"(checks: {', '.join(names)})", argument="only", value=wanted
                )
        return [c for c in self.checks if c.name in set(only)]


def find_config(folder: Path | None = None) -> Path:
    """``symcheck.toml`` in ``folder`` (default: the current directory), else a
    ``pyproject.toml`` there that has a ``[tool.symcheck]`` table."""
    folder = folder or Path.cwd()
    dedicated = folder / "symcheck.toml"
    if dedicated.is_file():
        return dedicated
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        if "symcheck" in _tool_table(_read_toml(pyproject), pyproject):
            return pyproject
        raise ConfigError(Phrase(
            f"{shown_path(pyproject)} in this folder has no [tool.symcheck] table; declare "
            "checks as [[tool.symcheck.check]] tables there, or in a symcheck.toml as [[check]] "
            "tables (or name a file with ", Use("config", PATH), ")"
        ))
    raise ConfigError(
        f"no symcheck.toml or pyproject.toml in {shown_path(folder)}", argument="config",
        hint=Phrase("run symcheck check in the project's folder or pass ", Use("config", PATH))
    )


def load_config(path: Path | None = None) -> Config:
    """Read and validate the configuration at ``path`` (found with :func:`find_config` if None)."""
    if path is None:
        path = find_config()
    elif not path.is_file():
        raise ConfigError(f"file {str(path)!r} does not exist", argument="config", value=path)
    return parse_config(_read_toml(path), path)


def _tool_table(data: Mapping[str, Any], path: Path) -> Mapping[str, Any]:
    """``[tool]`` of a pyproject.toml: a table, or nothing (``tool = 5`` is an error)."""
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{shown_path(path)}: 'tool' must be a table ([tool.symcheck]), got "
                          f"{type(tool).__name__}")
    return tool


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown_path(path)}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{shown_path(path)}: nested too deeply to read") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown_path(path)}: not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start}); a TOML file is UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc.strerror}", argument="config",
                          value=path) from None


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    near = close_match(key, known)
    return "" if near is None else f"; did you mean {near!r}?"


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Validate the parsed TOML of the configuration file ``path``."""
    shown = shown_path(path)
    if path.name == "pyproject.toml":
        table = _tool_table(data, path).get("symcheck")
        where = "[tool.symcheck]"
        if table is None:
            raise ConfigError(f"{shown}: no [tool.symcheck] table")
    else:
        table, where = data, "top level"
    if not isinstance(table, dict):
        raise ConfigError(f"{shown}: {where} must be a table")
    unknown = sorted(set(table) - {"check"})
    if unknown:
        raise ConfigError(f"{shown}: {where}: unknown key {unknown[0]!r}"
                          f"{_did_you_mean(unknown[0], ['check'])} (known: check)")
    entries = table.get("check")
    header = "[[tool.symcheck.check]]" if path.name == "pyproject.toml" else "[[check]]"
    if not isinstance(entries, list) or not entries or not all(
        isinstance(e, dict) for e in entries
    ):
        raise ConfigError(f"{shown}: no checks declared; add {header} tables")
    checks: list[CheckSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        check = _parse_check(entry, index, path, shown)
        if check.name in seen:
            raise ConfigError(f"{shown}: check {check.name!r}: the name is used twice")
        seen.add(check.name)
        checks.append(check)
    return Config(path, tuple(checks))


def _parse_check(entry: Mapping[str, Any], index: int, path: Path, shown: str) -> CheckSpec:
    name = entry.get("name")
    if name is None:
        raise ConfigError(f"{shown}: check #{index}: missing key 'name'")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{shown}: check #{index}: 'name' must be a non-empty string, "
                          f"got {name!r}")
    label = f"{shown}: check {name!r}"
    kinds = [k for k in KINDS if k in entry]
    if not kinds:
        raise ConfigError(f"{label}: missing what to check: one of 'model', 'weights', 'matrix'")
    if len(kinds) > 1:
        raise ConfigError(f"{label}: {' and '.join(repr(k) for k in kinds)} are both given; "
                          "a check has exactly one of 'model', 'weights', 'matrix'")
    kind = kinds[0]
    allowed = OPTIONS[kind]
    for key in entry:
        if key not in allowed and key not in ("name", kind):
            known = known_keys(kind)
            extra = _did_you_mean(key, known) if key not in known_keys() else \
                f" in a {kind} check"
            raise ConfigError(f"{label}: unknown key {key!r}{extra} "
                              f"(known: {', '.join(known)})")
    target = _path(entry[kind], f"{label}: {kind!r}")
    member: str | None = None
    file_part = target
    if kind == "model":
        from symcheck.sources.python import split_target

        file, member = split_target(target)
        file_part = str(file)
    options = dict(DEFAULTS) if "seed" in allowed else {}
    for key, validate in allowed.items():
        if key in entry:
            options[key] = validate(entry[key], f"{label}: {key!r}")
    if kind == "model" and "inputs" in options and "output" in options:
        _check_labels(options, label)
    return CheckSpec(
        name=name, kind=kind, target=target, path=(path.parent / file_part).resolve(),
        member=member, options=options, config=path,
    )


def _check_labels(options: Mapping[str, Any], label: str) -> None:
    """The engine's label rules, applied when the config gives the specs: a group or size on a
    label no spec carries is a configuration error, found before anything runs."""
    from symcheck.engine.problem import check_labels

    try:
        check_labels([*options["inputs"], *options["output"]], options.get("groups", ()),
                     options.get("sizes", {}))
    except SpecError as exc:
        raise ConfigError(f"{label}: {CONFIG.name(exc.argument or 'groups')!r}: "
                          f"{exc.worded(CONFIG, named=False)}") from None


def shown_path(path: Path) -> str:
    """``path`` relative to the current directory when it lies below it, else absolute."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return str(resolved)
