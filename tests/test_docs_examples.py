"""Every example of README.md and docs/ that no generated piece runs, run as it is written.

``samples/make_readme.py`` writes (and ``tests/test_readme_numbers.py`` checks) the generated
regions; the other ``bash`` blocks are checked here: each ``symcheck …`` line must end with the
exit code it gives (``# exit N``), and its block runs in order in a scratch folder that sees
``samples/`` (so ``--save out.npz`` then ``--verify out.npz`` works and writes nothing into the
checkout). Each page's ``python`` blocks run in order in one namespace; the ``use-in-ci``
blocks of docs/ci.md are run by ``tests/test_readme_ci.py``.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, CliResult, sample_module

MAKE_README = sample_module("make_readme.py")

DOCUMENTS = ["README.md", *(p.relative_to(ROOT).as_posix()
                            for p in sorted((ROOT / "docs").glob("*.md")))]
_FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.DOTALL | re.MULTILINE)
_REGION = re.compile(r"^<!-- generated: ([\w-]+) -->\n.*?^<!-- end: \1 -->$",
                     re.DOTALL | re.MULTILINE)
_EXIT = re.compile(r"\s+# exit (?P<code>\d)\b.*$")
#: a command that mentions one of these needs that optional package
NEEDS = {"bert.py": "transformers", "egnn_layer.py": "egnn_pytorch",
         "tensor_product.py": "e3nn", ".safetensors": "safetensors", "torch_model.py": "torch",
         "jax_model.py": "jax"}
#: lines of a bash block that are not symcheck commands and are not run here
NOT_RUN = ("pip install ", "python samples/make_readme.py")


@dataclass(frozen=True)
class Block:
    file: str
    line: int  # where the block starts, for the test id
    lang: str
    body: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"


def blocks(lang: str) -> list[Block]:
    """The fenced ``lang`` blocks of every document, outside generated regions and the
    ``use-in-ci`` examples."""
    found = []
    for file in DOCUMENTS:
        text = (ROOT / file).read_text(encoding="utf-8")
        generated = [m.span() for m in _REGION.finditer(text)]
        for m in _FENCE.finditer(text):
            inside = any(a <= m.start() < b for a, b in generated)
            marked = text[:m.start()].rstrip().endswith("-->") and "<!-- use-in-ci:" in \
                text[:m.start()].rstrip().rsplit("\n", 1)[-1]
            if m["lang"] == lang and not inside and not marked:
                found.append(Block(file, text.count("\n", 0, m.start()) + 1, lang, m["body"]))
    return found


def commands(block: Block) -> list[tuple[str, int]]:
    """Each ``symcheck`` command of a bash block (continuations joined) and its exit code."""
    out = []
    for line in block.body.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith(NOT_RUN):
            continue
        assert line.startswith("symcheck "), f"{block.id}: not a symcheck command: {line}"
        code = _EXIT.search(line)
        assert code, f"{block.id}: {line!r} does not say its exit code (# exit N)"
        out.append((line[:code.start()], int(code["code"])))
    return out


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that sees the repository's samples/ and is the working folder."""
    os.symlink(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


BASH = blocks("bash")


def test_the_examples_are_collected() -> None:
    shown = [c for b in BASH for c, _ in commands(b)]
    assert len(shown) >= 15
    # the command blocks samples/make_readme.py writes (and checks the exit codes of)
    generated = [c.line for p in MAKE_README.PIECES for c in p.commands
                 if isinstance(c, MAKE_README.Cli)]
    for option in ("--timeout", "--mask", "--padding-mask", "input_ids=", "--out ''",
                   "model.encoder", "O(d) x S(n)"):
        assert any(option in c for c in shown + generated), option


def test_a_command_without_its_exit_code_is_refused() -> None:
    block = Block("docs/x.md", 1, "bash", "symcheck equivariance samples/attention.py\n")
    with pytest.raises(AssertionError, match="does not say its exit code"):
        commands(block)
    block = Block("docs/x.md", 1, "bash", "symcheck form a.py:f \\\n    --json -  # exit 1: x\n")
    assert commands(block) == [("symcheck form a.py:f      --json -", 1)]


@pytest.mark.parametrize("block", [b for b in BASH if commands(b)],
                         ids=[b.id for b in BASH if commands(b)])
def test_every_documented_command_exits_as_stated(
        block: Block, cli: Callable[..., CliResult], scratch: Path) -> None:
    for line, _ in commands(block):
        for mark, module in NEEDS.items():
            if mark in line:
                pytest.importorskip(module, reason=f"{line} needs {module}")
    for line, code in commands(block):
        r = cli(*shlex.split(line)[1:])
        assert r.exit_code == code, f"{block.id}: {line}\n{r.output}"


PYTHON = {file: [b for b in blocks("python") if b.file == file] for file in DOCUMENTS}


@pytest.mark.parametrize("file", [f for f, b in PYTHON.items() if b])
def test_every_python_example_runs(file: str, scratch: Path) -> None:
    namespace: dict[str, object] = {"__name__": "docs_example"}
    for block in PYTHON[file]:
        exec(compile(block.body, block.id, "exec"), namespace)
