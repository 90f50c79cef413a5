"""JUnit XML of ``symcheck check``, the format CI systems collect test results in.

One ``<testsuite name="symcheck">`` with one ``<testcase>`` per check: a failing check carries
``<failure message="one-line summary">report text</failure>``, a check that could not run an
``<error>``. ElementTree does the escaping; characters XML 1.0 cannot hold at all (control
characters a model's error message may contain) are replaced first.

>>> from symcheck.report.check import CheckOutcome
>>> xml = to_junit([CheckOutcome("attn", "model", "pass", "ok", seconds=0.5)])
>>> xml.decode().splitlines()[1][:60]
'<testsuites name="symcheck" tests="1" failures="0" errors="0'
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from symcheck.report.check import CheckOutcome

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def to_junit(outcomes: Sequence[CheckOutcome], hostname: str | None = None) -> bytes:
    """The JUnit XML document (UTF-8 bytes) for ``outcomes``."""
    tests = str(len(outcomes))
    failures = str(sum(o.broken for o in outcomes))
    errors = str(sum(o.verdict == "error" for o in outcomes))
    seconds = f"{sum(o.seconds for o in outcomes):.3f}"
    root = ET.Element("testsuites", name="symcheck", tests=tests, failures=failures,
                      errors=errors, time=seconds)
    suite = ET.SubElement(root, "testsuite", name="symcheck", tests=tests, failures=failures,
                          errors=errors, skipped="0", time=seconds)
    if hostname:
        suite.set("hostname", hostname)
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname=f"symcheck.{o.kind}", name=_clean(o.name),
                             time=f"{o.seconds:.3f}")
        if o.file:
            case.set("file", _clean(o.file))
            if o.line:
                case.set("line", str(o.line))
        if o.broken:
            failure = ET.SubElement(case, "failure", message=_clean(o.summary),
                                    type="SymmetryBroken")
            failure.text = _clean(o.report)
        elif o.verdict == "error":
            error = ET.SubElement(case, "error", message=_clean(o.summary), type="InputError")
            error.text = _clean(o.report or o.summary)
        elif o.report:
            ET.SubElement(case, "system-out").text = _clean(o.report)
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def write_junit(path: str, outcomes: Sequence[CheckOutcome]) -> None:
    """Write the JUnit XML to ``path`` atomically (``-`` for stdout)."""
    import sys

    from symcheck.core.files import atomic_write
    from symcheck.report import write_text

    data = to_junit(outcomes)
    if path == "-":
        write_text(sys.stdout, data.decode())
        return

    def write(handle: IO[bytes]) -> None:
        handle.write(data)

    atomic_write(path, write, "junit")
