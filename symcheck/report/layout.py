"""Tables and text that fit the terminal, without losing a digit.

rich's answer to a table wider than the terminal is to shorten cells to ``3.31e-…``, which makes
``3.31e-16`` and ``3.31e-02`` look the same. :func:`print_table` instead lets headers and text
cells (notes, then names) wrap at spaces, drops whole columns in a stated order when that is not
enough, and says which; number and verdict cells are never wrapped or cut. A table that fits
is left exactly as rich lays it out. :func:`print_plain` wraps plain text on a terminal and
breaks a ``symcheck`` command line at its options with shell continuations, so that it can
still be copied and run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

#: a line that ends in a command to run: "replay the worst case: symcheck equivariance …"
_COMMAND_LINE = re.compile(r"^([^:]*: )(symcheck .+)$")
_CONTINUED = "    "  # the indent of a command's continuation lines
_FOLDED = 8  # the narrowest a text column becomes, folding its words, before numbers would


#: the order in which columns give way: prose first, then the headers of number columns, names
#: last (a ``group`` or part name wraps only when nothing else can)
_TIERS = {"first": 0, "never": 1, "last": 2}


@dataclass(frozen=True)
class Column:
    """One column: its header, where it sits, and whether its cells may wrap.

    ``wrap``: "never" for numbers and verdicts (the cells never wrap; the header may);
    "first" for prose (notes, meanings), which wraps before anything else; "last" for names,
    which wrap only when nothing else can give way. ``name`` is what the line about dropped
    columns calls it (default: the header).
    """

    header: str
    justify: Literal["left", "right"] = "right"
    wrap: Literal["never", "first", "last"] = "never"
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.header


def _words(text: str) -> list[str]:
    """The pieces wrapping keeps whole: words, the first with the line's indent."""
    return re.findall(r"^\s*\S+|\S+", text) or [""]


def _ranges(column: Column, cells: Sequence[Text]) -> tuple[int, int]:
    """The narrowest and the widest the column can be, padding and border excluded."""
    from rich.cells import cell_len

    lines = [line for cell in cells for line in cell.plain.split("\n")]
    widest = max([cell_len(column.header), *(cell_len(line) for line in lines)])
    header_word = max(cell_len(word) for word in _words(column.header))
    if column.wrap == "never":
        narrowest = max([header_word, *(cell_len(line) for line in lines)])
    else:
        narrowest = max([header_word, *(cell_len(w) for line in lines for w in _words(line))])
    return narrowest, widest


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


def print_table(console: Console, columns: Sequence[Column], rows: Sequence[Sequence[Any]],
                drop: Sequence[str] = (), **options: Any) -> None:
    """Print a table that fits ``console``: wrap headers and text cells, then drop the columns
    named in ``drop`` (labels, in that order) until it fits, and say which went.

    Cells are strings (rich markup) or :class:`rich.text.Text`. ``options`` go to
    :class:`rich.table.Table` (title, header style); the box is :func:`table_box`'s.

    >>> from rich.console import Console
    >>> c = Console(width=36, file=open("/dev/null", "w"), soft_wrap=True)
    >>> with c.capture() as out:
    ...     print_table(c, [Column("group", "left", "last"), Column("max error"),
    ...                     Column("median"), Column("verdict")],
    ...                 [["O(d)", "3.31e-16", "1.20e-16", "PASS"],
    ...                  ["S(n)", "2.05e-01", "1.10e-01", "FAIL"]], drop=["median"])
    >>> print(out.get(), end="")
    +-------+-----------+---------+
    | group | max error | verdict |
    +-------+-----------+---------+
    | O(d)  |  3.31e-16 |    PASS |
    | S(n)  |  2.05e-01 |    FAIL |
    +-------+-----------+---------+
    columns dropped to fit 36 columns: median
    """
    from rich.table import Table

    from symcheck.report import table_box

    cells = [[console.render_str(c) if isinstance(c, str) else c for c in row] for row in rows]
    keep = list(range(len(columns)))
    ranges = [_ranges(col, [row[i] for row in cells]) for i, col in enumerate(columns)]

    def overhead() -> int:  # a border left of each column and one at the end, padding 1 + 1
        return 3 * len(keep) + 1

    def needed(i: int) -> int:  # before a column is dropped, names stay whole
        return ranges[i][1] if columns[i].wrap == "last" else ranges[i][0]

    dropped: list[str] = []
    widths: list[int] | None = None
    if sum(ranges[i][1] for i in keep) + overhead() > console.width:
        for label in drop:
            if sum(needed(i) for i in keep) + overhead() <= console.width:
                break
            keep = [i for i in keep if columns[i].label != label]
            dropped.append(label)
        room = console.width - overhead()
        widths = fit_widths([ranges[i] for i in keep], room,
                            [_TIERS[columns[i].wrap] for i in keep])
        if sum(widths) > room:  # the last resort: text folds inside its words, numbers do not
            widths = fit_widths([(min(w, _FOLDED), w) if columns[i].wrap != "never" else (w, w)
                                 for i, w in zip(keep, widths, strict=True)], room)
    table = Table(box=table_box(console), **options)
    for n, i in enumerate(keep):
        col = columns[i]
        # never "…": what cannot fit folds onto the next line, a digit is never lost
        table.add_column(col.header, justify=col.justify, overflow="fold",
                         width=None if widths is None else widths[n])
    for row in cells:
        table.add_row(*(row[i] for i in keep))
    console.print(table)
    if dropped:
        console.print(f"columns dropped to fit {console.width} columns: {', '.join(dropped)}",
                      style="dim", markup=False)


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
    """Print plain text (no markup): wrapped at spaces on a terminal, one line per line
    elsewhere (grep-able logs); a line ending in a ``symcheck`` command is broken only at the
    command's options (see :func:`command_lines`)."""
    for line in text.split("\n"):
        command = _COMMAND_LINE.match(line) if console.is_terminal else None
        parts = command_lines(command[1], command[2], console.width) if command else [line]
        if len(parts) > 1:
            for part in parts:
                console.print(part, markup=False, soft_wrap=True)
        else:
            console.print(line, markup=False)
