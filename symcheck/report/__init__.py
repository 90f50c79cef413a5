"""Presentation: the only package that imports rich.

Library code returns plain result objects; the modules here turn them into rich tables (or
plain text when stdout is not a terminal). Nothing here computes a number that the result
object does not already hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


#: the width of tables when no terminal is there to ask (a CI log, a cron job, a file written by
#: a detached process): the reader is a browser or an editor that does not wrap at 80, and at
#: 120 every command's tables are drawn as tables; messages then stay one line each (grep-able)
LOG_WIDTH = 120


def make_console(stderr: bool = False) -> Console:
    """A console that writes plain ASCII-boxed text when its stream is not a terminal, and
    that never changes the exit code when its reader goes away (``| head -1``).

    Not a terminal: ``COLUMNS`` where it is set (tables only; messages stay one line each);
    else, in a pipe (``symcheck … | tee log``), the width of the terminal the user sits at,
    wrapping messages too, since that is most likely where the pipe ends; else (a file, or no
    terminal anywhere) :data:`LOG_WIDTH`.
    """
    import os

    console = _console_class()(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        # bash does not export COLUMNS, so an unset one says nothing about the reader
        piped = "COLUMNS" not in os.environ and _is_pipe(console.file)
        width = terminal_width() if piped else None
        console.soft_wrap = width is None
        if "COLUMNS" not in os.environ:
            console.width = width or LOG_WIDTH
    return console


def _is_pipe(stream: Any) -> bool:
    import os
    import stat

    try:
        return stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return False


def terminal_width() -> int | None:
    """The width of the terminal in front of the user, when one is there although stdout is
    not it: stderr's, stdin's, else the controlling terminal's (``/dev/tty``); None without."""
    import os

    for fd in (2, 0):
        try:
            return _positive(os.get_terminal_size(fd).columns)
        except (OSError, ValueError):
            pass
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError:  # no controlling terminal (CI, cron, a detached job) or no /dev/tty
        return None
    try:
        return _positive(os.get_terminal_size(fd).columns)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def _positive(columns: int) -> int:
    """A terminal that reports 0 columns (a serial line, a pty nobody sized) has no width."""
    if columns <= 0:
        raise ValueError(columns)
    return columns


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
