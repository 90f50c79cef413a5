"""Presentation: the only package that imports rich.

Library code returns plain result objects; the modules here turn them into rich tables (or
plain text when stdout is not a terminal). Nothing here computes a number that the result
object does not already hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def make_console(stderr: bool = False) -> Console:
    """A console that writes plain ASCII-boxed text when its stream is not a terminal, and
    that never changes the exit code when its reader goes away (``| head -1``)."""
    import os

    console = _console_class()(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        # Logs and CI output have no width: keep each message on one line (grep-able), and
        # draw tables 120 wide rather than 80, which would wrap them or drop columns.
        console.soft_wrap = True
        if "COLUMNS" not in os.environ:
            console.width = 120
    return console


def _console_class() -> type[Console]:
    from rich.console import Console

    class QuietOnBrokenPipe(Console):
        """rich's default exits 1 on a closed pipe, which would turn a PASS into a failure."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            silence(self.file)

    return QuietOnBrokenPipe


def silence(stream: Any) -> None:
    """Point the file descriptor behind ``stream`` at /dev/null (its reader has gone)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def write_text(stream: Any, text: str) -> None:
    """Write and flush ``text``; a closed pipe silences the stream instead of raising."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        silence(stream)


def table_box(console: Console) -> Any:
    """Unicode boxes on a terminal, plain ASCII when piped into a file or a CI log."""
    from rich import box

    return box.ROUNDED if console.is_terminal else box.ASCII2


def fmt_float(value: float, digits: int = 3) -> str:
    """Scientific notation for errors; 'nan'/'inf' spelled out."""
    if value != value:  # NaN
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    return f"{value:.{digits-1}e}"
