"""Axis specs: an einops-style label per array axis.

``"n d"`` is a sequence of ``n`` tokens in a ``d``-dimensional embedding (rows are tokens);
``"m d"`` a set of ``m`` knowledge vectors; ``"d k"`` a weight matrix whose first axis lives
in the embedding; ``"n n"`` an attention matrix; ``"b n d"`` a batch of sequences. A group acts
along every axis that carries its label; every other axis is left alone.

>>> AxisSpec.parse("b n d").labels
('b', 'n', 'd')
>>> AxisSpec.parse("n d").shape({"n": 4, "d": 8})
(4, 8)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from symcheck.core.errors import SpecError

_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class AxisSpec:
    """The labels of an array's axes, in order."""

    labels: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, argument: str = "spec") -> AxisSpec:
        """Parse ``"n d"`` (labels separated by spaces or commas); a scalar is ``""``."""
        if not isinstance(text, str):
            raise SpecError(f"{argument}: expected a string such as 'n d', got {text!r}")
        labels = tuple(part for part in re.split(r"[\s,]+", text.strip()) if part)
        for label in labels:
            if not _LABEL.match(label):
                raise SpecError(
                    f"{argument}: {text!r} has the label {label!r}; labels are identifiers "
                    "such as n, d, m, b"
                )
        return cls(labels)

    @property
    def rank(self) -> int:
        return len(self.labels)

    def axes_of(self, label: str) -> tuple[int, ...]:
        """Indices of the axes that carry ``label``."""
        return tuple(i for i, lab in enumerate(self.labels) if lab == label)

    def shape(self, sizes: Mapping[str, int], argument: str = "spec") -> tuple[int, ...]:
        """The array shape these labels have for the given sizes."""
        missing = [lab for lab in self.labels if lab not in sizes]
        if missing:
            raise SpecError(
                f"--size: no size for {', '.join(repr(m) for m in dict.fromkeys(missing))} "
                f"(needed by {argument} {str(self)!r}); pass e.g. --size {missing[0]}=8"
            )
        return tuple(int(sizes[lab]) for lab in self.labels)

    def bind(self, shape: tuple[int, ...], sizes: dict[str, int], argument: str) -> None:
        """Check ``shape`` against this spec and record the size of each label in ``sizes``.

        Raises a :class:`SpecError` when the rank differs or a label gets two sizes.
        """
        if len(shape) != self.rank:
            raise SpecError(
                f"{argument}: spec {str(self)!r} has rank {self.rank} but the array has "
                f"shape {tuple(shape)} (rank {len(shape)})"
            )
        for label, size in zip(self.labels, shape, strict=True):
            known = sizes.setdefault(label, int(size))
            if known != size:
                raise SpecError(
                    f"{argument}: axis {label!r} has size {size} in shape {tuple(shape)} but "
                    f"{label}={known} elsewhere"
                )

    def __str__(self) -> str:
        return " ".join(self.labels)


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
            raise SpecError(f"--size: {part!r} is not of the form label=integer (e.g. n=16)")
        try:
            size = int(value)
        except ValueError:
            raise SpecError(f"--size: {part!r}: {value!r} is not an integer") from None
        if size < 1:
            raise SpecError(f"--size: {part!r}: sizes must be at least 1")
        sizes[name.strip()] = size
    return sizes
