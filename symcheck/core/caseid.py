"""The identity of one case of a check, as a value: which group set, which kind of case, which
probe, at which sizes, which draw.

The engine makes these values and every layer carries them; they are formatted only to be shown
(``str``: ``haar:3``, ``probe:O(d):reflection-e1``, ``size:n=25:haar:0``; :attr:`CaseId.ref`:
``O(d) × S(n)/haar:3``) and read back only where a label comes from outside
(:meth:`CaseId.parse`: the ``case`` option, ``GROUP/CASE``; a counterexample file's metadata).
Nothing takes a label apart again.

>>> case = CaseId(GroupSet(("O(d)", "S(n)")), "probe", probe="reflection-e1", factor="O(d)")
>>> str(case), case.ref
('probe:O(d):reflection-e1', 'O(d) × S(n)/probe:O(d):reflection-e1')
>>> CaseId.parse("O(d) x S(n)/probe:O(d):reflection-e1") == case
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

from symcheck.core.errors import SpecError

if TYPE_CHECKING:
    from symcheck.core.groups import Group

#: how the factors of a product are joined in its display name
PRODUCT = " × "

#: the kinds of case: Haar draws, structured group probes, identity (the noise floor), input
#: probes, the worst-case search, and the calibration draws
Kind = Literal["haar", "probe", "identity", "input", "search", "calibrate"]
_INDEXED = ("haar", "identity", "input", "calibrate")


@dataclass(frozen=True)
class GroupSet:
    """A group set: one group, or the product of several (``O(d) × S(n)``), by their names.

    >>> str(GroupSet(("O(d)", "S(n)"))), GroupSet(("O(d)",)).product
    ('O(d) × S(n)', False)
    """

    names: tuple[str, ...]

    @classmethod
    def of(cls, groups: Sequence[Group]) -> GroupSet:
        return cls(tuple(g.name for g in groups))

    @property
    def product(self) -> bool:
        """Whether it is a product of more than one group."""
        return len(self.names) > 1

    def __str__(self) -> str:
        return PRODUCT.join(self.names)


class UnknownCase(SpecError):
    """``GROUP/CASE`` whose CASE is not the label of any case the engine makes: it names no case
    of its group set (``groups``; ``case`` is the text given)."""

    def __init__(self, groups: GroupSet, case: str) -> None:
        super().__init__(f"{case!r} is not a case label of {groups}", argument="case",
                         value=case)
        self.groups = groups
        self.case = case


@dataclass(frozen=True)
class CaseId:
    """One case of a check.

    ``index`` is the draw of Haar, identity, input-probe and calibration cases (None for a
    group probe and the search); ``probe`` the group probe's or the input probe's name;
    ``factor`` the group whose element a group probe is (shown in a product's labels only);
    ``size`` a size probe's ``(label, size)``: the case ran on the problem resized to it.

    >>> str(CaseId(GroupSet(("S(n)",)), "haar", 0, size=("n", 25)))
    'size:n=25:haar:0'
    >>> str(CaseId(GroupSet(("S(n)",)), "input", 2, probe="one-hot"))
    'input:one-hot:2'
    """

    groups: GroupSet
    kind: Kind
    index: int | None = None
    probe: str | None = None
    factor: str | None = None
    size: tuple[str, int] | None = None

    def __str__(self) -> str:
        parts: list[str] = [self.kind]
        if self.kind == "probe" and self.groups.product and self.factor is not None:
            parts.append(self.factor)
        if self.probe is not None:
            parts.append(self.probe)
        if self.index is not None:
            parts.append(str(self.index))
        label = ":".join(parts)
        return label if self.size is None else f"size:{self.size[0]}={self.size[1]}:{label}"

    @property
    def ref(self) -> str:
        """``GROUP/CASE``: what the ``case`` option takes to run this case again."""
        return f"{self.groups}/{self}"

    def resized(self, label: str, size: int) -> CaseId:
        """The same case on the problem resized to ``label = size`` (a size probe)."""
        return CaseId(self.groups, self.kind, self.index, self.probe, self.factor, (label, size))

    @classmethod
    def parse(cls, text: str) -> CaseId:
        """Read ``GROUP/CASE`` from outside (the ``case`` option, a counterexample file): the one
        place a label is taken apart. GROUP may join a product's factors with an ASCII ``x``
        (``O(d) x S(n)``). Raises :class:`SpecError` when ``text`` is not ``GROUP/CASE``, and
        :class:`UnknownCase` when CASE is no label the engine makes (``str`` of the value must
        give CASE back exactly: ``haar:03`` is not ``haar:3``).

        >>> CaseId.parse("S(n)/size:n=25:probe:transposition-01").size
        ('n', 25)
        """
        group_part, sep, label = text.rpartition("/")
        if not sep:
            raise SpecError(f"{text!r} is not GROUP/CASE", argument="case", value=text)
        groups = GroupSet(tuple(group_part.replace(" x ", PRODUCT).split(PRODUCT)))
        parts = label.split(":")
        size = None
        if parts[0] == "size" and len(parts) > 2:
            name, _, value = parts[1].rpartition("=")
            number = _integer(value)
            size = (name, number) if name and number is not None else None
            parts = parts[2:]
        kind, rest = cast(Kind, parts[0]), parts[1:]
        case = None
        index = _integer(rest[-1]) if rest else None
        if kind in _INDEXED and len(rest) == (2 if kind == "input" else 1) and \
                index is not None:
            case = cls(groups, kind, index, rest[0] if kind == "input" else None)
        elif kind == "probe" and len(rest) == (2 if groups.product else 1):
            case = cls(groups, "probe", probe=rest[-1], factor=rest[0] if groups.product
                       else groups.names[0])
        elif kind == "search" and not rest:
            case = cls(groups, "search")
        if case is not None and size is not None:  # only Haar draws and group probes resize
            case = case.resized(*size) if case.kind in ("haar", "probe") else None
        if case is None or str(case) != label:
            raise UnknownCase(groups, label)
        return case


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
