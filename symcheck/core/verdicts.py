"""One vocabulary of verdicts for every result and outcome.

A :class:`Verdict` is a string enum, so it serialises as ``"pass"``/``"fail"``/… in JSON and
compares equal to those strings. Only the command line turns verdicts into exit codes.

>>> Verdict.PASS == "pass", Verdict.worst([Verdict.PASS, Verdict.NON_FINITE]).value
(True, 'non-finite')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable


class Verdict(StrEnum):
    #: the checked property holds
    PASS = "pass"
    #: it does not (a symmetry is broken, the precision is not met)
    FAIL = "fail"
    #: the model returned NaN or Inf where the check needed finite numbers
    NON_FINITE = "non-finite"
    #: the check stopped before it could decide (a time limit)
    INCONCLUSIVE = "inconclusive"
    #: the check could not run (bad input, a model that raises or exits)
    ERROR = "error"

    @property
    def passed(self) -> bool:
        return self is Verdict.PASS

    @staticmethod
    def worst(verdicts: Iterable[Verdict]) -> Verdict:
        """The verdict of several checks together: an error above a failure above a pass."""
        order = [Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.FAIL, Verdict.NON_FINITE,
                 Verdict.ERROR]
        return max(verdicts, key=order.index, default=Verdict.PASS)


def brief(kind: str, name: str, *facts: str) -> str:
    """A result's one-line ``repr``: its kind, its name and the facts that matter, never the
    cases behind them (``to_dict()`` has those).

    >>> brief("GroupResult", "S(n)", "fail", "max error 9.0e-01", "tolerance 1.0e-09")
    "<GroupResult 'S(n)': fail, max error 9.0e-01, tolerance 1.0e-09>"
    """
    return f"<{kind} {name!r}: {', '.join(facts)}>"


#: the key of a field's metadata that says how it appears in its result's JSON
JSON = "json"


@dataclasses.dataclass(frozen=True)
class Key:
    """How one field appears in its result's JSON: under ``name`` (None: the field's name),
    after ``convert``, left out (``skip``), merged into its parent (``spread``: the field
    converts to a mapping whose keys join the result's at this place), or left out when it is
    None (``omit_none``)."""

    name: str | None = None
    convert: Callable[[Any], Any] | None = None
    skip: bool = False
    spread: bool = False
    omit_none: bool = False


def key(name: str | None = None, *, convert: Callable[[Any], Any] | None = None,
        spread: bool = False, omit_none: bool = False) -> dict[str, Key]:
    """Field metadata: ``field(metadata=key("matrix"))`` writes the field as ``"matrix"``."""
    return {JSON: Key(name, convert, spread=spread, omit_none=omit_none)}


#: field metadata: the field is not part of the JSON (arrays, the caller's objects, layout)
SKIP: Mapping[str, Key] = {JSON: Key(skip=True)}


@dataclasses.dataclass(frozen=True)
class Computed:
    """A JSON key whose value is derived, not stored: read from ``source``, a dotted attribute
    path (None: the key itself, a property), or ``source(result)``; ``spread`` merges a
    mapping into the result as :class:`Key` does."""

    key: str
    source: str | Callable[[Any], Any] | None = None
    spread: bool = False

    def value(self, obj: Any) -> Any:
        if callable(self.source):
            return self.source(obj)
        for name in (self.source or self.key).split("."):
            obj = getattr(obj, name)
        return obj


def plain(value: Any) -> Any:
    """A value as JSON carries it: a nested result by its own ``to_dict``, an enum by its
    value, a frozen value with a display form (``CaseId``, ``GroupSet``, ``AxisSpec``,
    ``GroupName``) by ``str``, any other dataclass by its fields, numpy scalars and arrays by
    ``tolist``, tuples as lists.

    >>> import numpy as np
    >>> plain({"v": Verdict.PASS, "x": (np.float32(0.5), np.arange(2)), "n": None})
    {'v': 'pass', 'x': [0.5, [0, 1]], 'n': None}
    """
    if isinstance(value, Enum):
        return value.value
    if callable(getattr(value, "tolist", None)):  # numpy scalars and arrays
        return value.tolist()
    if value is None or isinstance(value, str | int | float):
        return value
    if callable(getattr(value, "to_dict", None)):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value).__str__ is not object.__str__:
            return str(value)
        return fields_dict(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def json_key(f: dataclasses.Field[Any]) -> Key:
    """How the field ``f`` appears in JSON (its metadata, else under its own name)."""
    found: Key = f.metadata.get(JSON, Key())
    return found


def fields_dict(obj: Any) -> dict[str, Any]:
    """The JSON of a dataclass instance, built from its fields: in the order of its class's
    :attr:`Serialised.json_order` (field names and :class:`Computed` keys), else of its
    fields; each field as its :class:`Key` metadata says, each value through :func:`plain`."""
    fields = {f.name: f for f in dataclasses.fields(obj)}
    order: Sequence[str | Computed] | None = getattr(type(obj), "json_order", None)
    if order is None:
        order = [name for name, f in fields.items() if not json_key(f).skip]
    out: dict[str, Any] = {}
    for entry in order:
        if isinstance(entry, Computed):
            name, value, spread = entry.key, plain(entry.value(obj)), entry.spread
        else:
            spec, raw = json_key(fields[entry]), getattr(obj, entry)
            if spec.omit_none and raw is None:
                continue
            name, spread = spec.name or entry, spec.spread
            value = plain(raw if spec.convert is None else spec.convert(raw))
        if spread:
            out.update(value)
        else:
            out[name] = value
    return out


class Serialised:
    """A dataclass whose JSON is built from its fields (:func:`fields_dict`): its fields'
    :class:`Key` metadata and, where the JSON's keys differ from the fields' order or add
    derived values, :attr:`json_order`.

    >>> @dataclasses.dataclass
    ... class Found(Serialised):
    ...     source: str = dataclasses.field(metadata=key("matrix"))
    ...     d: int = 2
    ...     json_order = ("source", Computed("x_width", lambda r: 2 * r.d), "d")
    >>> Found("m.npy").to_dict()
    {'matrix': 'm.npy', 'x_width': 4, 'd': 2}
    """

    #: the JSON's keys in order: field names and :class:`Computed` keys (None: the fields)
    json_order: ClassVar[Sequence[str | Computed] | None] = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON report, built from the fields (:func:`fields_dict`)."""
        return fields_dict(self)


class Judged(Serialised):
    """What every result shares: ``passed``, the one word for "it held", read off the verdict
    (a result defines ``verdict``), and ``name``, read from the field :attr:`name_field` (the
    model, the matrix, the file)."""

    name_field: ClassVar[str] = "model"

    @property
    def name(self) -> str:
        return str(getattr(self, self.name_field))

    if TYPE_CHECKING:
        @property
        def verdict(self) -> Verdict: ...

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS


@runtime_checkable
class Result(Protocol):
    """What the result of every command is, whatever it measured: a name, one
    :class:`Verdict`, ``passed`` (the one word for "it held": the verdict is PASS) and its
    JSON report.

    >>> from symcheck.api import check_equivariance
    >>> import numpy as np
    >>> isinstance(check_equivariance(np.tanh, "n d", "n d", "S(n)", {"n": 3, "d": 2}), Result)
    True
    """

    @property
    def name(self) -> str: ...

    @property
    def verdict(self) -> Verdict: ...

    @property
    def passed(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...
