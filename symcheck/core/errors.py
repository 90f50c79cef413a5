"""One exception root for everything symcheck reports to a user.

Every error raised for bad input is a :class:`SymcheckError`. The CLI turns it into a single
line on stderr and exit code 2; the Python API lets it propagate. Messages name the argument,
the value it had and what was expected, e.g. ``--size: 'n=abc' is not an integer``.
"""

from __future__ import annotations


class SymcheckError(Exception):
    """Root of every error caused by the user's input or call (exit code 2)."""

    exit_code = 2


class SpecError(SymcheckError):
    """An axis spec, group name or size is malformed or inconsistent."""


class ModelError(SymcheckError):
    """The model file or callable cannot be loaded, or it raised / returned the wrong thing."""


class InputFileError(SymcheckError):
    """A data, matrix or weights file is missing, unreadable or malformed."""


class MissingExtraError(SymcheckError):
    """An optional framework is needed but not installed; the message names the extra."""

    def __init__(self, package: str, extra: str, what: str) -> None:
        super().__init__(
            f"{what} needs {package}, which is not installed; "
            f"install it with: pip install 'symcheck[{extra}]'"
        )
