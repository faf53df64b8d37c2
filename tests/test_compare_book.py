"""tools/compare_book.py on tiny fixture notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import load_script

compare_book = load_script("tools/compare_book.py")


def _notebook(folder: Path, name: str, cells: list[list[dict]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
            *(
                {"cell_type": "code", "metadata": {}, "source": [], "outputs": outs}
                for outs in cells
            ),
        ],
    }
    (folder / f"{name}.ipynb").write_text(json.dumps(nb))


def _markdown(text: str) -> dict:
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {"text/markdown": text, "text/plain": "<Markdown>"},
    }


def _png() -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"image/png": "AAAA"}}


def test_identical_builds_agree_after_masking(tmp_path: Path, capsys) -> None:
    old_cells = [
        [_markdown("Scored 282 pairs in 3.2 s; run in `/tmp/cache-a/finetunes/0123abcd99`.")],
        [_png(), {"output_type": "stream", "name": "stdout", "text": "SRCC 0.294\n"}],
    ]
    new_cells = [
        [_markdown("Scored 282 pairs in 41.0 s; run in `/tmp/cache-b/finetunes/fedcba9876`.")],
        [],
        [_png(), {"output_type": "stream", "name": "stdout", "text": "SRCC 0.294\n"}],
    ]  # same outputs, organised in other cells
    _notebook(tmp_path / "old", "02_x", old_cells)
    _notebook(tmp_path / "new", "02_x", new_cells)
    assert compare_book.main([str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    assert "IDENTICAL" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("old", "new", "seen"),
    [
        ([_markdown("SRCC 0.294")], [_markdown("SRCC 0.295")], "+[text/markdown] SRCC 0.295"),
        ([_markdown("a"), _png()], [_markdown("a")], "-[images] image/png"),
        (
            [_markdown("a")],
            [_markdown("a"), {"output_type": "stream", "name": "stderr", "text": "Warning!\n"}],
            "+[stderr] Warning!",
        ),
        (
            [_markdown("a")],
            [{"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}],
            "+[error] ValueError: bad",
        ),
    ],
)
def test_differences_are_reported(tmp_path: Path, capsys, old, new, seen) -> None:
    _notebook(tmp_path / "old", "01_x", [old])
    _notebook(tmp_path / "new", "01_x", [new])
    assert compare_book.main([str(tmp_path / "old"), str(tmp_path / "new")]) == 1
    out = capsys.readouterr().out
    assert "01_x.ipynb: outputs differ" in out and seen in out


def test_a_missing_notebook_and_the_cache_and_extra_masks(tmp_path: Path, capsys) -> None:
    _notebook(tmp_path / "old", "01_x", [[_markdown("cache /home/u/c/models; id 7f3a")]])
    _notebook(tmp_path / "new", "01_x", [[_markdown("cache /srv/c2/models; id 9b2c")]])
    _notebook(tmp_path / "new", "90_y", [[_markdown("a")]])
    args = [str(tmp_path / "old"), str(tmp_path / "new")]
    assert compare_book.main([*args, "--cache", "/home/u/c", "/srv/c2", "--mask", "id \\w+"]) == 1
    out = capsys.readouterr().out
    assert "01_x" not in out and "90_y.ipynb: only in new build" in out
    with pytest.raises(SystemExit):
        compare_book.main([str(tmp_path / "old"), str(tmp_path / "nowhere")])


def _headline(key: str, estimate: float, lo: float, hi: float) -> dict:
    record = {"key": key, "quantity": "SRCC", "estimate": estimate, "lo": lo, "hi": hi, "n": 94}
    return {
        "output_type": "display_data",
        "metadata": {"humanclap_headline": {**record, "world": "synthetic", "simulated": True}},
        "data": {"text/markdown": f"**SRCC {estimate:.3f}**", "text/plain": "<Markdown>"},
    }


def test_the_report_names_headlines_and_the_largest_number_difference(tmp_path: Path, capsys):
    table_old = "<td>0.294</td><td>[0.20, 0.38]</td><td>282</td>"
    table_new = "<td>0.304</td><td>[0.21, 0.38]</td><td>282</td>"
    old = [_headline("ch2.srcc", 0.294, 0.2, 0.38), _headline("ch2.same", 0.5, 0.4, 0.6)]
    new = [_headline("ch2.srcc", 0.304, 0.21, 0.38), _headline("ch2.same", 0.5, 0.4, 0.6)]
    old.append({"output_type": "display_data", "metadata": {}, "data": {"text/html": table_old}})
    new.append({"output_type": "display_data", "metadata": {}, "data": {"text/html": table_new}})
    old.append(_markdown("λ = 3 is chosen"))
    new.append(_markdown("λ = 10 is chosen, the edge of the grid"))
    _notebook(tmp_path / "old", "02_x", [old])
    _notebook(tmp_path / "new", "02_x", [new])
    assert compare_book.main([str(tmp_path / "old"), str(tmp_path / "new")]) == 1
    out = capsys.readouterr().out
    assert "headline numbers: 1 of 2 differ" in out
    assert "ch2.srcc: 0.294 [0.2, 0.38] -> 0.304 [0.21, 0.38] (+0.01)" in out
    assert "ch2.same" not in out.split("numbers in the outputs")[0]
    # 0.294 -> 0.304 twice (headline line and table), 0.20 -> 0.21 once; words changed in one line
    assert "numbers in the outputs: 3 differ, largest |difference| 0.01 in:" in out
    assert "other lines that differ: 1" in out
    assert "DIFFERENT: 1 of 1 notebooks differ" in out


def test_number_differences_by_hand() -> None:
    found = compare_book.number_differences(
        ["a 1.5 b 2", "same", "c −0.25", "gone"], ["a 1.5 b 3", "same", "c 0.25"]
    )
    assert found["numbers"] == 2 and found["max_abs"] == pytest.approx(1.0)
    assert found["line"] == "a 1.5 b 3" and found["other_lines"] == 1
    assert compare_book.number_differences(["x 1"], ["x 1"]) == {
        "numbers": 0, "max_abs": 0.0, "line": "", "other_lines": 0
    }  # fmt: skip


def test_published_temporary_folders_are_masked(tmp_path: Path, capsys) -> None:
    _notebook(tmp_path / "old", "05_x", [[_markdown("scored -> <tmp>/ch5-4uv_wkbg/a.csv (0)")]])
    _notebook(tmp_path / "new", "05_x", [[_markdown("scored -> <tmp>/ch5-3ripn5a1/a.csv (0)")]])
    assert compare_book.main([str(tmp_path / "old"), str(tmp_path / "new")]) == 0
