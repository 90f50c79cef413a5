"""One exception root for everything symcheck reports to a user, with fields, worded by the door.

Every error caused by the user's input or call is a :class:`SymcheckError`. It carries fields
rather than a finished sentence: the *argument* it concerns (a logical name such as ``sizes``
or ``groups``, never a command-line flag), the offending *value*, what was *expected*, and an
optional *hint* — a :class:`Suggest` (a value to pass) or free text. The door that shows the
error words it (:class:`Wording`): the command line says ``--size: …; pass e.g. --size d=8``,
the Python API ``sizes: …; pass e.g. sizes={'d': 8}``, a config file
``sizes: …; pass e.g. sizes = { d = 8 }``. ``str(error)`` is the Python wording.

>>> e = SpecError("no size for 'd'", argument="sizes", hint=Suggest("sizes", {"d": 8}))
>>> str(e)
"sizes: no size for 'd'; pass e.g. sizes={'d': 8}"
>>> e.worded(PYTHON) == str(e)
True
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_UNSET: Any = object()


@dataclass(frozen=True)
class Suggest:
    """A hint that names a value to pass for ``argument`` (worded by the door)."""

    argument: str
    value: Any


def close_match(word: str, known: Iterable[str]) -> str | None:
    """The one of ``known`` that ``word`` most likely misspells (the same word in another case
    first), else None: the "did you mean" of a message.

    >>> close_match("group", ["groups", "sizes"]), close_match("o", ["O", "SO"])
    ('groups', 'O')
    >>> close_match("zzz", ["groups"]) is None
    True
    """
    choices = list(known)
    same = [k for k in choices if k.lower() == word.lower()]
    close = same or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


class Wording:
    """How one door spells arguments and example values. The base class is the Python API's:
    keyword names and Python literals (``sizes={'d': 8}``)."""

    door = "python"

    def name(self, argument: str) -> str:
        return argument

    def example(self, argument: str, value: Any) -> str:
        return f"{self.name(argument)}={value!r}"


PYTHON = Wording()


class SymcheckError(Exception):
    """Root of every error caused by the user's input or call.

    ``message`` says what is wrong without naming the argument; ``argument`` is the logical
    name of what it concerns (``None`` when the message stands alone, e.g. a file that cannot
    be read, which every door names the same way).
    """

    def __init__(self, message: str, *, argument: str | None = None, value: Any = _UNSET,
                 expected: str | None = None, hint: Suggest | str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.argument = argument
        self.value = value
        self.expected = expected
        self.hint = hint

    def worded(self, wording: Wording = PYTHON, named: bool = True) -> str:
        """The one-line message as the door with ``wording`` shows it (``named=False``: without
        the argument's name in front, for a door that already says where the error is)."""
        text = self.message
        if self.argument is not None and named:
            text = f"{wording.name(self.argument)}: {text}"
        if self.expected:
            text += f"; expected {self.expected}"
        if isinstance(self.hint, Suggest):
            text += f"; pass e.g. {wording.example(self.hint.argument, self.hint.value)}"
        elif self.hint:
            text += f"; {self.hint}"
        return text

    def __str__(self) -> str:
        return self.worded(PYTHON)


class SpecError(SymcheckError):
    """An axis spec, group name, size or option is malformed or inconsistent."""


class ModelError(SymcheckError):
    """The model file or callable cannot be loaded, or it raised / returned the wrong thing."""


class InputFileError(SymcheckError):
    """A data, matrix, weights or counterexample file is missing, unreadable or malformed."""


class ReplayError(InputFileError):
    """A stored case cannot be replayed: its element is not a member of its group, or the
    file belongs to another model."""


class StopRequest(BaseException):
    """A request to stop from outside the model (a time limit, SIGTERM): never an ``Exception``,
    so a model's own ``except Exception`` cannot swallow it, and never turned into a model
    error where model code runs."""


class Interrupted(StopRequest):
    """Raised into running model code by a time limit; the service reports it as a
    :class:`ModelError` naming the limit."""


class Terminated(StopRequest):
    """SIGTERM, raised as an exception so that an output being written is removed."""


class MissingExtraError(SymcheckError):
    """An optional framework is needed but not installed; the message names the extra."""

    def __init__(self, package: str, extra: str, what: str) -> None:
        super().__init__(
            f"{what} needs {package}, which is not installed; install it with: "
            f"pip install 'symcheck[{extra}]' (from a source checkout: pip install '.[{extra}]')"
        )
        self.package = package
        self.extra = extra
