"""The shape of the code: no function in symcheck/ is longer than MAX_LINES lines.

Read with ``ast`` (a function's lines run from its ``def`` to its last statement; decorators
and the lines of nested functions count towards the function that holds them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symcheck"
MAX_LINES = 80


def long_functions(source: str, limit: int = MAX_LINES) -> list[str]:
    """``name (N lines)`` for every function or method in ``source`` longer than ``limit``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                found.append(f"{node.name} ({lines} lines)")
    return found


def _modules() -> list[object]:
    return [pytest.param(path, id=path.relative_to(PACKAGE).as_posix())
            for path in sorted(PACKAGE.rglob("*.py"))]


def test_the_package_is_found() -> None:
    assert len(_modules()) > 20


@pytest.mark.parametrize("path", _modules())
def test_no_function_is_longer_than_the_limit(path: Path) -> None:
    assert long_functions(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("body_lines", "expected"),
    [(MAX_LINES - 1, []), (MAX_LINES, ["f (81 lines)"]), (MAX_LINES + 5, ["f (86 lines)"])],
)
def test_the_check_counts_from_def_to_the_last_line(
    body_lines: int, expected: list[str]
) -> None:
    source = "def f():\n" + "    x = 1\n" * body_lines
    assert long_functions(source) == expected


def test_the_check_sees_methods_and_nested_functions() -> None:
    body = "        x = 1\n" * MAX_LINES
    source = f"class C:\n    def m(self):\n{body}\n\ndef outer():\n    def inner():\n{body}"
    found = sorted(long_functions(source))
    assert found == ["inner (81 lines)", "m (81 lines)", "outer (82 lines)"]
