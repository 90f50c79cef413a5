"""How a model file declares what it checks: the :func:`equivariant` decorator.

>>> import symcheck
>>> @symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)"], sizes={"n": 4, "d": 8})
... def identity(x):
...     return x
>>> [str(g) for g in identity.__symcheck__.groups]
['O(d)']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from symcheck.core.errors import SpecError
from symcheck.core.specs import AxisSpec

if TYPE_CHECKING:
    from symcheck.core.groups import GroupName

F = TypeVar("F")
ATTRIBUTE = "__symcheck__"
#: Haar-random draws per group when neither the call nor the declaration says
DEFAULT_TRIALS = 20
#: steps of ``search`` given without a number (per group set)
DEFAULT_SEARCH = 200
#: How a check treats a model's weights (``weights``): turned with the embedding, or held
#: fixed. Shared by saved-weights checks and the form check; here because both import it cheaply.
WEIGHT_MODES = ("cotransform", "fixed")
WEIGHT_MODE_NAMES = {"cotransform": "co-transformed", "fixed": "fixed"}


@dataclass(frozen=True)
class Signature:
    """Input specs, output specs, groups and default sizes of one checked callable, as values
    (parsed where they entered: :meth:`parse`, the decorator, a door)."""

    inputs: tuple[AxisSpec, ...] = ()
    outputs: tuple[AxisSpec, ...] = ()
    groups: tuple[GroupName, ...] = ()
    sizes: Mapping[str, int] = field(default_factory=dict)
    trials: int | None = None
    rtol: float | None = None
    #: labels whose size the caller gave (not a declared default): fixed inputs must agree
    explicit: tuple[str, ...] = ()
    #: the NAME of an input that marks valid positions (padding is not compared)
    mask: str | None = None
    #: the NAME of an input that is True at padding (torch's ``src_key_padding_mask``)
    padding_mask: str | None = None

    @classmethod
    def parse(cls, inputs: str | Sequence[str] = (), outputs: str | Sequence[str] = (),
              groups: str | Sequence[str] = (), sizes: Mapping[str, int] | None = None,
              **rest: Any) -> Signature:
        """A signature from the text a caller writes (specs such as ``"n d"``, groups such as
        ``"O(d)"``).

        >>> Signature.parse(("n d",), ("n d",), ("S(n)",), {"n": 4}).groups[0].label
        'n'
        """
        return cls(parse_specs(_as_tuple(inputs, "inputs"), "inputs"),
                   parse_specs(_as_tuple(outputs, "outputs"), "outputs"),
                   parse_groups(_as_tuple(groups, "groups")), dict(sizes or {}), **rest)

    def merged(self, **overrides: Any) -> Signature:
        """This signature with every override that is not empty/None applied (CLI wins)."""
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if value is None or (isinstance(value, tuple | list) and not value):
                continue
            if key == "sizes":
                changes["explicit"] = tuple(sorted({*self.explicit, *value}))
                value = {**self.sizes, **value}
            changes[key] = tuple(value) if isinstance(value, list) else value
        return replace(self, **changes)


def parse_specs(texts: Sequence[str], argument: str) -> tuple[AxisSpec, ...]:
    """Each spec text read into an :class:`AxisSpec` (errors name ``argument``)."""
    return tuple(AxisSpec.parse(text, argument) for text in texts)


def parse_groups(texts: Sequence[str | GroupName]) -> tuple[GroupName, ...]:
    """Each group name read into a :class:`~symcheck.core.groups.GroupName` (one that is a
    value already is kept: a library door may be given either)."""
    from symcheck.core.groups import GroupName

    return tuple(t if isinstance(t, GroupName) else GroupName.parse(t) for t in texts)


def _as_tuple(value: str | Sequence[str] | None, argument: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not all(isinstance(v, str) for v in value):
        raise SpecError(f"expected strings such as 'n d', got {value!r}", argument=argument,
                        value=value)
    return tuple(value)


def _declared(sizes: object, trials: object, rtol: object) -> dict[str, int]:
    """The decorator's numbers checked where they are written (a NaN ``rtol`` would make any
    model pass; a size of ``'x'`` would fail deep inside the check): the sizes, checked."""
    from symcheck.core.errors import PYTHON, SymcheckError
    from symcheck.core.options import Tolerance, WholeNumber
    from symcheck.core.specs import check_sizes

    try:
        checked = check_sizes({} if sizes is None else sizes)
        if trials is not None:
            WholeNumber(1).check(trials, "trials")
        if rtol is not None:
            Tolerance().check(rtol, "rtol")
    except SymcheckError as exc:
        raise SpecError(f"@symcheck.equivariant: {exc.worded(PYTHON)}") from None
    return checked


def equivariant(
    inputs: str | Sequence[str],
    output: str | Sequence[str],
    groups: str | Sequence[str],
    sizes: Mapping[str, int] | None = None,
    trials: int | None = None,
    rtol: float | None = None,
    mask: str | None = None,
    padding_mask: str | None = None,
) -> Callable[[F], F]:
    """Declare a callable's axis specs, groups and default sizes for symcheck.

    ``output`` is one spec, or a list of specs for a tuple output; a spec ``NAME=SPEC`` passes
    an input by keyword or takes an output by attribute or key. ``mask`` names the input whose
    True entries mark valid positions, ``padding_mask`` one whose True entries mark padding
    (torch's ``src_key_padding_mask``). The command line's
    options for these (inputs, outputs, groups, sizes, trials, rtol, mask, padding_mask)
    override what is declared here.
    """
    signature = Signature(
        inputs=parse_specs(_as_tuple(inputs, "inputs"), "inputs"),
        outputs=parse_specs(_as_tuple(output, "output"), "outputs"),
        groups=parse_groups(_as_tuple(groups, "groups")),
        sizes=_declared(sizes, trials, rtol),
        trials=trials,
        rtol=rtol,
        mask=mask,
        padding_mask=padding_mask,
    )

    def mark(fn: F) -> F:
        setattr(fn, ATTRIBUTE, signature)
        return fn

    return mark


def signature_of(obj: object) -> Signature | None:
    """The declared :class:`Signature` of ``obj``, if any."""
    sig = getattr(obj, ATTRIBUTE, None)
    return sig if isinstance(sig, Signature) else None
