"""How to measure: every measurement option declared once, with its validator.

An option is a field of :class:`Measure` whose metadata is an :class:`Option`: the command
line's flag (its long name, without dashes; a boolean gets a NAME and a no-NAME switch), its
help and metavar, whether ``[tool.symcheck]`` accepts it (the key is the Python name), and the
:class:`Kind` of value it takes. Everything else follows from that declaration: the command
line's options (:mod:`symcheck.cli.common`), the configuration keys
(:mod:`symcheck.app.config`), the Python API's keywords (:mod:`symcheck.api`), the
reproduction recipe and the JSON report. ``CONTRIBUTING.md`` says how to add one.

The value kinds are small named validators in the shape of Hypothesis' ``validation.py``: each
raises a :class:`SpecError` naming the argument and its value, and says in words what it
expects (the configuration file's wording). :meth:`Measure.validated` runs them all once, at
the service boundary; the engine trusts what it is given.

>>> Measure(trials=5).validated().trials
5
>>> Measure(trials=0).validated()
Traceback (most recent call last):
...
symcheck.core.errors.SpecError: trials: 0 must be at least 1
>>> [name for name, _ in declared()][:4]
['trials', 'seed', 'rtol', 'dtype']
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from symcheck.core.errors import SpecError, close_match
from symcheck.core.signature import DEFAULT_SEARCH
from symcheck.core.tolerances import DEFAULT_RTOL, check_rtol
from symcheck.core.verdicts import Serialised

#: caps that keep a typo (a trials of 1000000000) from building gigabytes of cases
MAX_TRIALS = 100_000
MAX_SEARCH = 1_000_000
#: the longest time limit (a week): the interval timer cannot hold 1e300 s
MAX_TIMEOUT = 7 * 24 * 3600


class UnknownOption(SpecError, TypeError):
    """A keyword that names no option: a :class:`SpecError`, and the ``TypeError`` Python
    raises for an unexpected keyword argument."""


# --------------------------------------------------------------------------- value kinds


class Kind:
    """A kind of value: :meth:`check` returns it or raises a :class:`SpecError`."""

    #: what the value must be, in words (``an integer ≥ 1``)
    expected: str = "a value"

    def check(self, value: Any, argument: str) -> Any:
        raise NotImplementedError

    def conforms(self, value: Any) -> bool:
        """Whether ``value`` is :attr:`expected` (a cap, such as the most trials, aside)."""
        try:
            self.check(value, "value")
        except SpecError:
            return False
        return True


@dataclass(frozen=True)
class WholeNumber(Kind):
    """An integer (never a bool) from ``low`` to ``high``; ``unit`` names what it counts."""

    low: int
    high: int | None = None
    unit: str = ""
    #: why the cap, after "N is more than HIGH UNIT"
    beyond: str = ""

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"an integer ≥ {self.low}"

    def conforms(self, value: Any) -> bool:
        return not isinstance(value, bool) and isinstance(value, int) and value >= self.low

    def check(self, value: Any, argument: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{value!r} must be {self.expected}", argument=argument,
                            value=value)
        counted = f"{value} {self.unit}" if self.unit else f"{value}"
        if value < self.low:
            raise SpecError(f"{counted} must be at least {self.low}", argument=argument,
                            value=value)
        if self.high is not None and value > self.high:
            unit = f" {self.unit}" if self.unit else ""
            raise SpecError(f"{value} is more than {self.high:,}{unit}{self.beyond}",
                            argument=argument, value=value)
        return value


@dataclass(frozen=True)
class Tolerance(Kind):
    """A relative tolerance: finite and greater than 0 (:func:`check_rtol`)."""

    expected = "a finite positive number"

    def check(self, value: Any, argument: str) -> float:
        check_rtol(value, argument)
        return float(value)


@dataclass(frozen=True)
class Seconds(Kind):
    """A duration: finite, greater than 0, at most ``high`` seconds."""

    high: float

    expected = "a finite positive number"

    def conforms(self, value: Any) -> bool:
        return not isinstance(value, bool) and isinstance(value, int | float) and bool(
            math.isfinite(value) and value > 0)

    def check(self, value: Any, argument: str) -> float:
        if not self.conforms(value):
            raise SpecError(f"{value!r} must be a finite number of seconds greater than 0",
                            argument=argument, value=value)
        if value > self.high:
            raise SpecError(f"{value!r} is more than {self.high:,} s (a week); leave the "
                            "option out for no limit", argument=argument, value=value)
        return float(value)


@dataclass(frozen=True)
class Choice(Kind):
    """One of a fixed set of names."""

    choices: tuple[str, ...]

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"one of {', '.join(self.choices)}"

    def check(self, value: Any, argument: str) -> str:
        if value not in self.choices:
            raise SpecError(f"{value!r} is not {self.expected}", argument=argument, value=value)
        return str(value)


@dataclass(frozen=True)
class Boolean(Kind):
    """True or False (not 0, 1 or a string)."""

    expected = "true or false"

    def check(self, value: Any, argument: str) -> bool:
        if not isinstance(value, bool):
            raise SpecError(f"{value!r} must be True or False", argument=argument, value=value)
        return value


@dataclass(frozen=True)
class Text(Kind):
    """A non-empty string."""

    expected = "a non-empty string"

    def check(self, value: Any, argument: str) -> str:
        if not isinstance(value, str) or not value:
            raise SpecError(f"{value!r} must be {self.expected}", argument=argument,
                            value=value)
        return value


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Option:
    """The declaration of one measurement option (the metadata of a :class:`Measure` field)."""

    #: the command line's long name without dashes (a boolean: ``NAME`` and ``no-NAME``)
    flag: str
    help: str
    kind: Kind
    metavar: str | None = None
    #: whether ``[tool.symcheck]`` checks accept it, under the field's name
    config: bool = True


def option(default: Any, flag: str, help: str, kind: Kind, metavar: str | None = None,
           config: bool = True) -> Any:
    """A :class:`Measure` field declared as an option."""
    return field(default=default,
                 metadata={"option": Option(flag, help, kind, metavar, config)})


@dataclass(frozen=True)
class Measure(Serialised):
    """How to measure, whatever is measured: one value from the door to the engine.

    ``None`` for ``trials`` and ``rtol`` means "what the model declares, else the default";
    the service resolves them before the engine sees the options.
    """

    trials: int | None = option(
        None, "trials", "Haar-random draws per group (default 20).",
        WholeNumber(1, MAX_TRIALS, "", " Haar draws per group; 3/N already bounds the "
                    "violating share below 0.003 %"), "N")
    seed: int = option(0, "seed", "Seed of every random draw (printed).", WholeNumber(0),
                       "N")
    rtol: float | None = option(
        None, "rtol", "Tolerance on the relative error (default: by dtype).", Tolerance(), "X")
    dtype: str = option(
        "float64", "dtype",
        "Precision the model runs in: float64, float32, float16 (bfloat16: torch/jax).",
        Choice(tuple(DEFAULT_RTOL)), "DTYPE")
    case: str | None = option(
        None, "case", "Replay one case only, e.g. 'O(d)/haar:3'.", Text(), "GROUP/CASE",
        config=False)
    probes: bool = option(
        True, "probes",
        "Input probes (one-hot, repeated and zero tokens, ×1e±6 scales, rank-one) and size "
        "probes (n = 1, 2, 4n+1) beside the Haar draws (default: on).", Boolean())
    search: int = option(
        0, "search",
        "After the cases, search inputs and group elements together for a worse case (from "
        f"the worst cases and probes; widens on a plateau). Alone: {DEFAULT_SEARCH} steps "
        "per group; with a number N: N.",
        WholeNumber(0, MAX_SEARCH, "steps"), "[STEPS]")
    batch: bool = option(
        True, "batch",
        "Run all cases in one model call when the specs lead with a batch axis 'b'.",
        Boolean(), config=False)
    timeout: float | None = option(
        None, "timeout",
        "Stop the check (and exit 2) if it takes longer: a model that hangs at import or in "
        "a call.", Seconds(MAX_TIMEOUT), "SECONDS")

    def validated(self) -> Measure:
        """Every option checked by its kind (``None`` is always allowed where it is the
        default); the first bad one raises :class:`SpecError` naming it."""
        for name, spec in declared():
            value = getattr(self, name)
            if value is not None or default(name) is not None:
                spec.kind.check(value, name)
        return self

    @classmethod
    def from_keywords(cls, keywords: Mapping[str, Any]) -> Measure:
        """The options named in ``keywords`` (a door's keyword arguments); an unknown name
        is an error that suggests the nearest one."""
        names = [name for name, _ in declared()]
        for key in keywords:
            if key not in names:
                near = close_match(key, names)
                raise UnknownOption(f"unexpected option {key!r}", value=key,
                                hint=f"did you mean {near!r}?" if near else None,
                                expected=None if near else f"one of {', '.join(names)}")
        return cls(**keywords)

    def changed(self) -> dict[str, Any]:
        """The options that differ from their defaults (what a recipe must repeat)."""
        return {name: getattr(self, name) for name, _ in declared()
                if getattr(self, name) != default(name)}


def declared() -> Iterator[tuple[str, Option]]:
    """Each option's Python name and declaration, in declaration order."""
    for f in dataclasses.fields(Measure):
        yield f.name, f.metadata["option"]


def default(name: str) -> Any:
    """The default of the declared option ``name``."""
    return Measure.__dataclass_fields__[name].default


def parameters(names: Sequence[str] | None = None,
               annotate: Callable[[str, Any], Any] | None = None) -> list[inspect.Parameter]:
    """The declared options ``names`` (all, in declaration order, when None) as keyword-only
    parameters with their defaults, for a door's signature; ``annotate(name, type)`` gives
    each its annotation (the type itself when None)."""
    hints = get_type_hints(Measure)
    chosen = [n for n, _ in declared()] if names is None else list(names)
    return [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=default(n),
                              annotation=hints[n] if annotate is None else annotate(n, hints[n]))
            for n in chosen]
