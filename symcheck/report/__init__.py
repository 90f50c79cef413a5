"""Presentation: the only package that imports rich.

Library code returns plain result objects; the modules here turn them into rich tables (or
plain text when stdout is not a terminal). Nothing here computes a number that the result
object does not already hold.

**Layout**: tables and text that fit the terminal, without losing a digit or a column.

rich's answer to a table wider than the terminal is to shorten cells to ``3.31e-…``, which makes
``3.31e-16`` and ``3.31e-02`` look the same. :func:`print_table` never cuts a cell and never
drops a column; it tries, in this order, and takes the first layout that fits:

1. the table, headers and text cells (notes, meanings) wrapped at spaces, names whole, no text
   cell taller than :data:`TALL` lines (a table that fits as it is is left as rich draws it);
2. the table without its prose columns, each of which follows it as ``name: text`` lines;
3. that table transposed: one column per row, one row per column (few rows of many numbers);
4. the table of 2 with names wrapped too (no name taller than :data:`TALL` lines);
5. each row as a block of ``header: value`` lines.

Number and verdict cells never wrap. The choice depends on the width and the cells alone, and
a time's cells count as :attr:`Column.least` wide at least, so that the same command picks the
same layout on every run. :func:`print_plain` wraps plain text where the console wraps, and
breaks a ``symcheck`` command line at its options with shell continuations, so that it can still
be copied and run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


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


def fmt_tolerance(value: float) -> str:
    """A tolerance in as few digits as say it exactly, two at most: ``1e-09`` for the table's
    floor, ``1.3e-07`` for a calibrated one (one digit would print ``1e-07`` beside a
    ``1.21e-07`` that passes)."""
    return fmt_float(value, 1 if value and float(f"{value:.0e}") == value else 2)


def fmt_float(value: float, digits: int = 3) -> str:
    """Scientific notation for errors; 'nan'/'inf' spelled out."""
    if value != value:  # NaN
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    return f"{value:.{digits-1}e}"

#: a line that ends in a command to run: "replay the worst case: symcheck equivariance …"
_COMMAND_LINE = re.compile(r"^([^:]*: )(symcheck .+)$")
_CONTINUED = "    "  # the indent of a command's continuation lines
#: the most lines a prose or name cell may take in a table; a taller one is read better as a
#: line of its own (a note over 14 lines of a 15-character column is not read at all)
TALL = 3


#: the order in which columns give way: prose first, then the headers of number columns, names
#: last (a ``group`` or part name wraps only when nothing else can)
_TIERS = {"first": 0, "never": 1, "last": 2}


@dataclass(frozen=True)
class Column:
    """One column: its header, where it sits, and whether its cells may wrap.

    ``wrap``: "never" for numbers and verdicts (the cells never wrap; the header may);
    "first" for prose (notes, meanings), which wraps before anything else and, where it would
    be taller than :data:`TALL` lines, leaves the table for lines below it; "last" for names,
    which wrap only when nothing else can give way. ``name`` is what a line outside the table
    calls the column (default: the header). ``least``: the width the layout counts on at least,
    for cells whose width changes from run to run (times), so that the layout does not.
    """

    header: str
    justify: Literal["left", "right"] = "right"
    wrap: Literal["never", "first", "last"] = "never"
    name: str = ""
    least: int = 0

    @property
    def label(self) -> str:
        return self.name or self.header


def _words(text: str) -> list[str]:
    """The pieces wrapping keeps whole: words, the first with the line's indent."""
    return re.findall(r"^\s*\S+|\S+", text) or [""]


def _ranges(column: Column, cells: Sequence[Text], whole_names: bool = True) -> tuple[int, int]:
    """The narrowest and the widest the column can be, padding and border excluded: its header
    may wrap at spaces, its cells only where they are prose (or names, unless ``whole_names``).
    """
    from rich.cells import cell_len

    lines = [line for cell in cells for line in cell.plain.split("\n")]
    widest = max([cell_len(column.header), column.least, *(cell_len(line) for line in lines)])
    header_word = max(cell_len(word) for word in _words(column.header))
    if column.wrap == "never" or (column.wrap == "last" and whole_names):
        narrowest = max([header_word, column.least, *(cell_len(line) for line in lines)])
    else:
        narrowest = max([header_word, *(cell_len(w) for line in lines for w in _words(line))])
    return narrowest, widest


def _height(text: str, width: int) -> int:
    """The lines ``text`` takes wrapped at spaces in ``width`` cells (a longer word folds)."""
    from rich.cells import cell_len

    total = 0
    for line in text.split("\n"):
        used, lines = 0, 1
        for word in _words(line):
            size = cell_len(word)
            if used and used + 1 + size > width:
                lines, used = lines + 1, 0
            used += size + (1 if used else 0)
            while used > width:  # a word wider than the column folds
                lines, used = lines + 1, used - width
        total += lines
    return total


def fit_widths(ranges: Sequence[tuple[int, int]], room: int,
               tiers: Sequence[int] = ()) -> list[int]:
    """Column widths within ``room`` cells. Each starts at its widest; the columns of the lowest
    tier give way first, the widest of them first, none below its narrowest (where ``room`` is
    too small for that: the narrowest).

    >>> fit_widths([(4, 30), (8, 8), (5, 20)], 40)
    [16, 8, 16]
    >>> fit_widths([(4, 30), (8, 8), (5, 20)], 40, tiers=[1, 0, 0])
    [27, 8, 5]
    >>> fit_widths([(4, 10), (8, 8)], 40)
    [10, 8]
    """
    out = [high for _, high in ranges]
    levels = list(tiers) or [0] * len(ranges)
    for tier in sorted(set(levels)):
        give = [i for i, t in enumerate(levels) if t == tier]
        rest = room - sum(w for i, w in enumerate(out) if i not in give)

        def widths(level: int, give: list[int] = give) -> list[int]:
            return [max(ranges[i][0], min(ranges[i][1], level)) for i in give]

        level = max((ranges[i][1] for i in give), default=0)
        while level > 0 and sum(widths(level)) > rest:
            level -= 1
        for i, w in zip(give, widths(level), strict=True):
            out[i] = w
        spare = rest - sum(out[i] for i in give)
        for i in give:  # what the level left over, to the first ones it cut
            if spare > 0 and out[i] < ranges[i][1]:
                out[i] += 1
                spare -= 1
        if sum(out) <= room:
            break
    return out


def fit_table(columns: Sequence[Column], cells: Sequence[Sequence[Text]], width: int,
              whole_names: bool = True) -> list[int] | None:
    """Column widths for a table within ``width`` cells, borders included: each column at its
    widest where that fits, else squeezed by :func:`fit_widths`; None where no number can stay
    whole, a name whole (``whole_names``), or a text cell within :data:`TALL` lines.

    >>> from rich.text import Text
    >>> columns = [Column("group", "left", "last"), Column("max error"), Column("verdict")]
    >>> fit_table(columns, [[Text("O(d) × S(n)"), Text("3.31e-16"), Text("PASS")]], 40)
    [11, 9, 7]
    >>> fit_table(columns, [[Text("O(d) × S(n)"), Text("3.31e-16"), Text("PASS")]], 36)
    [11, 8, 7]
    >>> print(fit_table(columns, [[Text("O(d) × S(n)"), Text("3.31e-16"), Text("PASS")]], 30))
    None
    """
    ranges = [_ranges(col, [row[i] for row in cells], whole_names)
              for i, col in enumerate(columns)]
    room = width - 3 * len(columns) - 1  # a border left of each column and one at the end
    if sum(high for _, high in ranges) <= room:
        return [high for _, high in ranges]
    if sum(low for low, _ in ranges) > room:
        return None
    widths = fit_widths(ranges, room, [_TIERS[col.wrap] for col in columns])
    tall = any(_height(row[i].plain, w) > TALL for row in cells
               for i, (col, w) in enumerate(zip(columns, widths, strict=True))
               if col.wrap != "never")
    return None if tall else widths


def print_table(console: Console, columns: Sequence[Column], rows: Sequence[Sequence[Any]],
                **options: Any) -> None:
    """Print a table that fits ``console`` in the first of the layouts the module lists that
    fits: nothing is cut and no column is dropped.

    Cells are strings (rich markup) or :class:`rich.text.Text`; the first column names the
    row. ``options`` go to :class:`rich.table.Table` (title, header style); the box is
    :func:`table_box`'s.

    >>> from rich.console import Console
    >>> c = Console(width=40, file=open("/dev/null", "w"), soft_wrap=True)
    >>> with c.capture() as out:
    ...     print_table(c, [Column("group", "left", "last"), Column("max error"),
    ...                     Column("median"), Column("verdict")],
    ...                 [["O(d)", "3.31e-16", "1.20e-16", "PASS"],
    ...                  ["S(n)", "2.05e-01", "1.10e-01", "FAIL"]])
    >>> print(out.get(), end="")
    +-----------+----------+----------+
    | group     |     O(d) |     S(n) |
    +-----------+----------+----------+
    | max error | 3.31e-16 | 2.05e-01 |
    | median    | 1.20e-16 | 1.10e-01 |
    | verdict   |     PASS |     FAIL |
    +-----------+----------+----------+
    """
    from rich.text import Text

    cells = [[console.render_str(c) if isinstance(c, str) else c for c in row] for row in rows]
    widths = fit_table(columns, cells, console.width)
    if widths is not None:
        _draw(console, columns, cells, widths, options)
        return
    prose = [i for i, col in enumerate(columns) if i and col.wrap == "first"]
    keep = [i for i in range(len(columns)) if i not in prose]
    kept = [columns[i] for i in keep], [[row[i] for i in keep] for row in cells]
    turned = _transpose(*kept)
    for (heads, body), whole in (kept, True), (turned, True), (kept, False):
        widths = fit_table(heads, body, console.width, whole_names=whole)
        if widths is not None:
            _draw(console, heads, body, widths, options)
            for i in prose:
                _print_prose(console, columns[i].label, [(row[0], row[i]) for row in cells])
            return
    if "title" in options:
        console.print(options["title"])
    for row in cells:  # the last resort: a block of "header: value" lines per row
        console.print(Text.assemble(f"{columns[0].label}: ", row[0]))
        for col, cell in zip(columns[1:], row[1:], strict=True):
            if cell.plain.strip():
                _print_hanging(console, Text.assemble(f"  {col.label}: ", cell))


def _transpose(columns: Sequence[Column], cells: Sequence[Sequence[Text]]
               ) -> tuple[list[Column], list[list[Text]]]:
    """One column per row (headed by its name), one row per column (named by its label)."""
    from rich.text import Text

    rest = columns[1:]
    wrap: Literal["never", "last"] = "last" if any(c.wrap != "never" for c in rest) else "never"
    least = max((c.least for c in rest), default=0)
    head = [Column(columns[0].header, "left", "last"),
            *(Column(row[0].plain, "right", wrap, least=least) for row in cells)]
    body = [[Text(col.label), *(row[i] for row in cells)] for i, col in enumerate(rest, 1)]
    return head, body


def _draw(console: Console, columns: Sequence[Column], cells: Sequence[Sequence[Text]],
          widths: Sequence[int], options: dict[str, Any]) -> None:
    from rich.table import Table

    from symcheck.report import table_box

    natural = [high for _, high in (_ranges(col, [row[i] for row in cells])
                                    for i, col in enumerate(columns))]
    table = Table(box=table_box(console), **options)
    for col, width in zip(columns, widths, strict=True):
        # never "…": what cannot fit folds onto the next line, a digit is never lost; a table
        # that fits as it is is left exactly as rich lays it out
        table.add_column(col.header, justify=col.justify, overflow="fold",
                         width=None if list(widths) == natural else width)
    for row in cells:
        table.add_row(*row)
    console.print(table)


def _print_prose(console: Console, label: str, items: Sequence[tuple[Text, Text]]) -> None:
    """A prose column below its table: ``label:``, then ``  row name: text`` per row."""
    from rich.text import Text

    items = [(name, text) for name, text in items if text.plain.strip()]
    if items:
        console.print(f"{label}:", markup=False)
    for name, text in items:
        _print_hanging(console, Text.assemble("  ", name, ": ", text))


def _print_hanging(console: Console, line: Text) -> None:
    """``line`` wrapped at spaces where the console wraps, its continuations indented 4."""
    from rich.text import Text

    if console.soft_wrap:
        console.print(line)
        return
    for n, part in enumerate(line.wrap(console, console.width - len(_CONTINUED))):
        console.print(Text.assemble(_CONTINUED, part) if n else part, soft_wrap=True)

def command_lines(prefix: str, command: str, width: int) -> list[str]:
    """``prefix + command``, broken before options with `` \\`` continuations where it is wider
    than ``width`` (an option stays with its value); the lines still run as one command.

    >>> for line in command_lines("replay: ", "symcheck replay 'saved case.npz' model.py", 30):
    ...     print(line)
    replay: symcheck replay \\
        'saved case.npz' \\
        model.py
    """
    import shlex

    from rich.cells import cell_len

    try:
        tokens = shlex.split(command)
    except ValueError:  # not a command after all (an unbalanced quote): words, not options
        return [prefix + command]
    if cell_len(prefix + command) <= width or not tokens:
        return [prefix + command]
    units: list[str] = []
    for token in tokens:
        if units and units[-1].startswith("--") and " " not in units[-1] \
                and not token.startswith("-"):
            units[-1] += " " + shlex.quote(token)
        else:
            units.append(shlex.quote(token))
    lines = [prefix + units[0]]
    for unit in units[1:]:
        if cell_len(f"{lines[-1]} {unit} \\") <= width:
            lines[-1] += f" {unit}"
        else:
            lines[-1] += " \\"
            lines.append(_CONTINUED + unit)
    return lines


def print_plain(console: Console, text: str) -> None:
    """Print plain text (no markup): wrapped at spaces where the console wraps (a terminal,
    or a pipe with a terminal behind it), one line per line elsewhere (grep-able logs); a line
    ending in a ``symcheck`` command is broken only at the command's options (see
    :func:`command_lines`)."""
    for line in text.split("\n"):
        command = None if console.soft_wrap else _COMMAND_LINE.match(line)
        parts = command_lines(command[1], command[2], console.width) if command else [line]
        if len(parts) > 1:
            for part in parts:
                console.print(part, markup=False, soft_wrap=True)
        else:
            console.print(line, markup=False)
