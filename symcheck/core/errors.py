"""One exception root for everything symcheck reports to a user, with fields, worded by the door.

Every error caused by the user's input or call is a :class:`SymcheckError`. It carries fields
rather than a finished sentence: the *argument* it concerns (a logical name such as ``sizes``
or ``groups``, never a command-line flag), the offending *value*, what was *expected*, and an
optional *hint* — a :class:`Suggest` (a value to pass) or free text. The door that shows the
error words it (:class:`Wording`): the command line spells the argument as its option (size,
with a value written as on the command line), the Python API
``sizes: …; pass e.g. sizes={'d': 8}``, a config file
``sizes: …; pass e.g. sizes = { d = 8 }``. ``str(error)`` is the Python wording.

A text that has to name another argument (a note "rerun with batch=False", a hint "pass heads=H
or …") is a :class:`Phrase`: plain text and :class:`Use` references, worded the same way. As a
``str`` it reads in the Python API's words; :func:`say` words it for the door that is showing
it (:func:`speaking`, which the command line sets once around a command, as a locale is set).
So no module below the door spells an option the way one door does.

>>> e = SpecError("no size for 'd'", argument="sizes", hint=Suggest("sizes", {"d": 8}))
>>> str(e)
"sizes: no size for 'd'; pass e.g. sizes={'d': 8}"
>>> e.worded(PYTHON) == str(e)
True
>>> note = Phrase("rerun with ", Use("batch", False))
>>> note, say(note)
('rerun with batch=False', 'rerun with batch=False')
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

_UNSET: Any = object()


@dataclass(frozen=True)
class Suggest:
    """A hint that names a value to pass for ``argument`` (worded by the door)."""

    argument: str
    value: Any


class Metavar(str):
    """A placeholder shown as written in every door: ``heads=H``, and so on the command line."""

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Use:
    """An argument named inside a text, with a value to pass or without: the Python API says
    ``batch=False``, ``layer``; the command line its options (a switch for a boolean)."""

    argument: str
    value: Any = _UNSET

    def worded(self, wording: Wording) -> str:
        if self.value is _UNSET:
            return wording.name(self.argument)
        return wording.example(self.argument, self.value)


class Phrase(str):
    """A text made of plain pieces and :class:`Use` references, worded by the door.

    Its ``str`` value (comparisons, ``json.dumps``) is the Python wording; shown (``str()``, an
    f-string) it is worded for the door showing it (:func:`speaking`); ``worded(wording)`` is
    any door's.

    >>> p = Phrase("checked layers.0 (choose with ", Use("layer"), ")")
    >>> str(p)
    'checked layers.0 (choose with layer)'
    """

    parts: tuple[str | Use, ...]

    def __new__(cls, *parts: str | Use) -> Phrase:
        self = super().__new__(cls, "".join(
            p.worded(PYTHON) if isinstance(p, Use | Phrase) else str(p) for p in parts))
        self.parts = parts
        return self

    def worded(self, wording: Wording) -> str:
        return "".join(p.worded(wording) if isinstance(p, Use | Phrase) else p
                       for p in self.parts)

    def __str__(self) -> str:
        return self.worded(_DOOR.get())

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __add__(self, other: str) -> Phrase:  # ``note += "; more"`` keeps the references
        return Phrase(*self.parts, other)


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

    #: what this door offers to see the traceback of an error a model raised ("" when the
    #: exception's own chain already shows it, as in Python)
    traceback = ""


PYTHON = Wording()

#: the door that is showing text now (a command sets it, like a locale; Python by default)
_DOOR: ContextVar[Wording] = ContextVar("symcheck_door", default=PYTHON)


@contextlib.contextmanager
def speaking(wording: Wording) -> Iterator[None]:
    """Word every :class:`Phrase` shown inside the block as ``wording`` says."""
    token = _DOOR.set(wording)
    try:
        yield
    finally:
        _DOOR.reset(token)


def door() -> Wording:
    """The wording of the door that is showing text now (:func:`speaking`)."""
    return _DOOR.get()


def say(text: str, wording: Wording | None = None) -> str:
    """``text`` as ``wording`` (default: the door showing it now) words it; plain text as is."""
    if isinstance(text, Phrase):
        return text.worded(wording or _DOOR.get())
    return str(text)


def said(value: Any, wording: Wording | None = None) -> Any:
    """A JSON-like document with every :class:`Phrase` in it worded (:func:`say`)."""
    if isinstance(value, str):
        return say(value, wording)
    if isinstance(value, dict):
        return {k: said(v, wording) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [said(v, wording) for v in value]
    return value


class SymcheckError(Exception):
    """Root of every error caused by the user's input or call.

    ``message`` says what is wrong without naming the argument (a :class:`Phrase` where it
    names another one); ``argument`` is the logical name of what it concerns (``None`` when the
    message stands alone, e.g. a file that cannot be read, which every door names the same
    way); ``subject`` the part of that argument, shown after its name (``inputs 'n d' (input
    0): …``); ``traceback``: the error stands for an exception the model raised, whose
    traceback the door may offer.
    """

    def __init__(self, message: str, *, argument: str | None = None, value: Any = _UNSET,
                 expected: str | None = None, hint: Suggest | str | None = None,
                 subject: str | None = None, traceback: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.argument = argument
        self.value = value
        self.expected = expected
        self.hint = hint
        self.subject = subject
        self.traceback = traceback

    def worded(self, wording: Wording = PYTHON, named: bool = True) -> str:
        """The one-line message as the door with ``wording`` shows it (``named=False``: without
        the argument's name in front, for a door that already says where the error is)."""
        text = say(self.message, wording)
        if self.traceback and wording.traceback:
            text += f" ({wording.traceback})"
        if self.argument is not None and named:
            where = wording.name(self.argument)
            if self.subject:
                where += f" {self.subject}"
            text = f"{where}: {text}"
        elif self.subject:
            text = f"{self.subject}: {text}"
        if self.expected:
            text += f"; expected {self.expected}"
        if isinstance(self.hint, Suggest):
            text += f"; pass e.g. {wording.example(self.hint.argument, self.hint.value)}"
        elif self.hint:
            text += f"; {say(self.hint, wording)}"
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
