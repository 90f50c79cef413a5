"""Axis specs: an einops-style label per array axis, optionally with a representation.

``"n d"`` is a sequence of ``n`` tokens in a ``d``-dimensional embedding (rows are tokens);
``"m d"`` a set of ``m`` knowledge vectors; ``"d k"`` a weight matrix whose first axis lives
in the embedding; ``"n n"`` an attention matrix; ``"b n d"`` a batch of sequences. A group acts
along every axis that carries its label, through the axis's representation (``label:rep``;
plain ``label`` is ``label:vector``, see :mod:`symcheck.core.reps`); every other axis is left
alone.

>>> AxisSpec.parse("b n d").labels
('b', 'n', 'd')
>>> AxisSpec.parse("n d").shape({"n": 4, "d": 8})
(4, 8)
>>> str(AxisSpec.parse("n d:vector"))
'n d'
>>> spec = AxisSpec.parse("inputs_embeds=b n d")
>>> spec.name, spec.labels
('inputs_embeds', ('b', 'n', 'd'))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from symcheck.core.errors import SpecError, Suggest
from symcheck.core.reps import DEFAULT, Representation, representation

_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAMED = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$", re.DOTALL)


def _tokens(text: str) -> list[str]:
    """Split at spaces and commas outside parentheses (``c:irreps(1x0e + 1x1o)`` is one)."""
    out, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and (ch.isspace() or ch == ","):
            if current:
                out.append(current)
            current = ""
        else:
            current += ch
    if current:
        out.append(current)
    return out


@dataclass(frozen=True)
class AxisSpec:
    """The labels of an array's axes, in order, and the representation of each."""

    labels: tuple[str, ...]
    #: one representation tag per axis ("vector" for a plain label); empty: all "vector"
    reps: tuple[str, ...] = ()
    #: ``NAME=SPEC``: the keyword the input is passed by, or the attribute/key of the output
    name: str | None = None

    @classmethod
    def parse(cls, text: str, argument: str = "specs") -> AxisSpec:
        """Parse ``"n d"`` (tokens ``label`` or ``label:rep``), or ``"NAME=n d"`` for an input
        passed by keyword / an output taken by attribute or key; a scalar is ``""``.

        ``argument`` is the logical name the error names (``inputs``, ``outputs``).
        """
        if not isinstance(text, str):
            raise SpecError(f"expected a string such as 'n d', got {text!r}", argument=argument,
                            value=text)
        named = _NAMED.match(text)
        if named is not None:
            if _NAMED.match(named.group(2)) is not None:  # never recurse on 'a=b=c=…'
                raise SpecError(f"{text[:60]!r}{'…' if len(text) > 60 else ''} has more than "
                                "one NAME=; a spec is NAME=SPEC", argument=argument,
                                value=text[:60])
            inner = cls.parse(named.group(2), argument)
            return cls(inner.labels, inner.reps, named.group(1))
        labels, reps = [], []
        for token in _tokens(text.strip()):
            label, sep, rep = token.partition(":")
            if not _LABEL.match(label):
                raise SpecError(f"{text!r} has the label {label!r}", argument=argument,
                                value=text, expected="labels that are identifiers such as n, "
                                "d, m, b")
            try:
                tag = representation(rep).tag if sep else DEFAULT
            except SpecError as exc:
                raise SpecError(f"{text!r}: {exc.message}", argument=argument, value=text,
                                expected=exc.expected) from None
            labels.append(label)
            reps.append(tag)
        if all(r == DEFAULT for r in reps):
            return cls(tuple(labels))
        return cls(tuple(labels), tuple(reps))

    def split_label(self, label: str) -> AxisSpec:
        """This spec with ``label`` written as one label per letter (``"nd"`` -> ``"n d"``),
        those axes plain vectors: what a label written without its spaces meant.

        >>> str(AxisSpec.parse("x=b nd:point").split_label("nd"))
        'x=b n d'
        """
        pairs = [pair for i, lab in enumerate(self.labels)
                 for pair in ([(c, DEFAULT) for c in lab] if lab == label
                              else [(lab, self.rep(i))])]
        reps = tuple(r for _, r in pairs)
        return AxisSpec(tuple(lab for lab, _ in pairs),
                        () if all(r == DEFAULT for r in reps) else reps, self.name)

    @property
    def body(self) -> str:
        """The axis tokens without the name."""
        return " ".join(lab if self.rep(i) == DEFAULT else f"{lab}:{self.rep(i)}"
                        for i, lab in enumerate(self.labels))

    @property
    def rank(self) -> int:
        return len(self.labels)

    def rep(self, axis: int) -> str:
        """The representation tag of ``axis``."""
        return self.reps[axis] if self.reps else DEFAULT

    def representation(self, axis: int) -> Representation:
        return representation(self.rep(axis))

    def moved_by(self, label: str, oriented: bool = False) -> bool:
        """Whether a group on ``label`` changes this array: an axis carries the label, the
        values are positions along it (``index(label)``), or a channel is complemented under
        a group that can reverse (``oriented``)."""
        return label in self.labels or any(
            self.rep(i) == f"index({label})" or (oriented and self.rep(i).startswith(
                "complement(")) for i in range(self.rank))

    def axes_of(self, label: str) -> tuple[int, ...]:
        """Indices of the axes that carry ``label``."""
        return tuple(i for i, lab in enumerate(self.labels) if lab == label)

    def shape(self, sizes: Mapping[str, int], argument: str = "inputs") -> tuple[int, ...]:
        """The array shape these labels have for the given sizes (a representation may give
        its axis its own size, e.g. 9 for ``c:irreps(1x0e+1x1o+1x2e)``)."""
        missing = [lab for i, lab in enumerate(self.labels)
                   if lab not in sizes and self.representation(i).fixed_dim() is None]
        if missing:
            first = missing[0]
            raise SpecError(
                f"no size for {', '.join(repr(m) for m in dict.fromkeys(missing))} (needed by "
                f"{argument} spec {str(self)!r})", argument="sizes", value=tuple(missing),
                hint=Suggest("sizes", {first: 8}),
            )
        return tuple(self.representation(i).dim(int(sizes.get(lab, 0)))
                     for i, lab in enumerate(self.labels))

    def bind(self, shape: tuple[int, ...], sizes: dict[str, int], argument: str) -> None:
        """Check ``shape`` against this spec and record the size of each label in ``sizes``.

        Raises a :class:`SpecError` (naming ``argument``) when the rank differs or a label
        gets two sizes. An axis whose representation sets its own size (irreps) binds nothing
        but must have that size.
        """
        if len(shape) != self.rank:
            raise SpecError(
                f"spec {str(self)!r} has rank {self.rank} but the array has shape "
                f"{tuple(shape)} (rank {len(shape)})", argument=argument, value=tuple(shape),
            )
        for axis, (label, size) in enumerate(zip(self.labels, shape, strict=True)):
            own = self.representation(axis).fixed_dim()
            if own is not None:
                if own != size:
                    raise SpecError(
                        f"axis {axis} ({label}:{self.rep(axis)}) has size {size} in shape "
                        f"{tuple(shape)}, but its representation has dimension {own}",
                        argument=argument, value=tuple(shape),
                    )
                continue
            known = sizes.setdefault(label, int(size))
            if known != size:
                raise SpecError(
                    f"axis {label!r} has size {size} in shape {tuple(shape)} but "
                    f"{label}={known} elsewhere", argument=argument, value=tuple(shape),
                )

    def __str__(self) -> str:
        return self.body if self.name is None else f"{self.name}={self.body}"


def check_sizes(sizes: object, argument: str = "sizes") -> dict[str, int]:
    """The sizes a door was given as a mapping (the decorator, the Python API), checked: each
    key a label, each value an integer (never a bool) of at least 1.

    >>> check_sizes({"n": 4, "d": np.int64(8)})
    {'n': 4, 'd': 8}
    >>> check_sizes({"d": 2.5})
    Traceback (most recent call last):
    symcheck.core.errors.SpecError: sizes: d=2.5: sizes must be integers
    """
    if not isinstance(sizes, Mapping):
        raise SpecError(f"{sizes!r} is not a mapping of labels to sizes", argument=argument,
                        value=sizes, hint=Suggest(argument, {"n": 16}))
    checked: dict[str, int] = {}
    for label, size in sizes.items():
        if not isinstance(label, str) or not _LABEL.match(label):
            raise SpecError(f"{label!r} is not a label (a name such as n or d)",
                            argument=argument, value=label, hint=Suggest(argument, {"n": 16}))
        if isinstance(size, bool | np.bool_) or not isinstance(size, int | np.integer):
            raise SpecError(f"{label}={size!r}: sizes must be integers", argument=argument,
                            value=size)
        if size < 1:
            raise SpecError(f"{label}={size}: sizes must be at least 1", argument=argument,
                            value=size)
        checked[label] = int(size)
    return checked


def parse_sizes(text: str | Iterable[str] | None) -> dict[str, int]:
    """Parse ``"n=16,d=32"`` (or several such strings) into ``{"n": 16, "d": 32}``.

    >>> parse_sizes("n=16,d=32")
    {'n': 16, 'd': 32}
    """
    if text is None:
        return {}
    parts: list[str] = []
    for chunk in [text] if isinstance(text, str) else text:
        parts.extend(p for p in re.split(r"[\s,]+", chunk.strip()) if p)
    sizes: dict[str, int] = {}
    for part in parts:
        name, sep, value = part.partition("=")
        if not sep or not _LABEL.match(name.strip()):
            raise SpecError(f"{part!r} is not of the form label=integer", argument="sizes",
                            value=part, hint=Suggest("sizes", {"n": 16}))
        try:
            size = int(value)
        except ValueError:
            raise SpecError(f"{part!r}: {value!r} is not an integer", argument="sizes",
                            value=part) from None
        if size < 1:
            raise SpecError(f"{part!r}: sizes must be at least 1", argument="sizes", value=part)
        if name.strip() in sizes and sizes[name.strip()] != size:
            raise SpecError(f"{name.strip()} is given twice ({sizes[name.strip()]} and {size})",
                            argument="sizes", value=part)
        sizes[name.strip()] = size
    return sizes
