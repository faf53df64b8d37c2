"""tools/readme_numbers.py: the README's numbers rewritten from the executed chapters' headlines."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_script
from test_results_page import write_book

ROOT = Path(__file__).resolve().parents[1]
readme_numbers = load_script("tools/readme_numbers.py")

START, END = readme_numbers.START, readme_numbers.END
README = f"""# title

Intro ≈ 0.28 stays.

Numbers:
{START}
- hand-written: SRCC 0.294 (out of date)
{END}

## After
Text after.
"""
EXPECTED = f"""# title

Intro ≈ 0.28 stays.

Numbers:
{START}
{readme_numbers.NOTE}
- **1. Human ratings** (RELATE, real): ICC(1,1) = 0.441 [0.430, 0.450] (n = 1,311).
- **2. CLAPScore vs humans** (embedded world, **simulated**: a method check, not a finding): \
SRCC of CLAPScore = 0.299 [0.185, 0.400] (n = 282); LCC of CLAPScore = 0.310 (n = 282).
- **3. Human-CLAP** (not run in this build).
- **4. Which loss? A study** (not run in this build).
- **6. Any metric** (RELATE, real): SRCC of the XACLE baseline = 0.361 [0.310, 0.410] (n = 1,311).
{END}

## After
Text after.
"""


def _run(root: Path, *args: str) -> int:
    return readme_numbers.main(["--root", str(root), "--readme", str(root / "README.md"), *args])


def test_rewrite_idempotence_and_check(tmp_path: Path, capsys) -> None:
    root = write_book(tmp_path)
    readme = root / "README.md"
    readme.write_text(README)
    assert _run(root, "--check") == 1  # the hand-written block is out of date
    assert "out of date" in capsys.readouterr().err
    assert readme.read_text() == README  # --check never writes
    assert _run(root) == 0
    assert readme.read_text() == EXPECTED
    assert _run(root) == 0  # idempotent: the same file again
    assert readme.read_text() == EXPECTED
    assert "already up to date" in capsys.readouterr().out
    assert _run(root, "--check") == 0


def test_check_fails_when_a_chapter_changes(tmp_path: Path) -> None:
    root = write_book(tmp_path)
    (root / "README.md").write_text(README)
    assert _run(root) == 0
    write_book(tmp_path / "other", relate_run=True)  # a real run of chapter 2 appears
    relate = tmp_path / "other/book/relate"
    relate.rename(root / "book/relate")
    assert _run(root, "--check") == 1
    assert _run(root) == 0
    text = (root / "README.md").read_text()
    assert (
        "- **2. CLAPScore** (RELATE, real, `book/relate`): "
        "SRCC of CLAPScore = 0.270 [0.220, 0.320] (n = 1,311).\n" in text
    )
    assert _run(root, "--check") == 0


@pytest.mark.parametrize(
    "text",
    [
        "# no markers\n",
        f"only the start\n{START}\n",
        f"{START}\ntwice\n{START}\n{END}\n",
        f"{END}\nend before start\n{START}\n",
    ],
    ids=["none", "no-end", "two-starts", "reversed"],
)
def test_missing_or_broken_markers_name_the_file(tmp_path: Path, text: str, capsys) -> None:
    root = write_book(tmp_path)
    readme = root / "README.md"
    readme.write_text(text)
    for args in ((), ("--check",)):
        assert _run(root, *args) == 2
        err = capsys.readouterr().err
        assert str(readme) in err and "headline-numbers" in err
    assert readme.read_text() == text


def test_no_executed_chapter_is_an_error(tmp_path: Path, capsys) -> None:
    root = write_book(tmp_path)
    for path in (root / "book/chapters").glob("*.ipynb"):
        path.unlink()
    (root / "README.md").write_text(README)
    assert _run(root) == 2
    assert "no executed chapter" in capsys.readouterr().err
    assert (root / "README.md").read_text() == README


def test_the_repository_readme_has_one_block() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1
    assert text.index(START) < text.index(END)
    readme_numbers.rewrite(text, "x\n")  # the markers are usable
