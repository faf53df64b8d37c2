"""tools/relate_plan_table.py: the GPU-time table of book/reproduce.md comes from the plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
tool = load_script("tools/relate_plan_table.py")


def test_durations_read_as_the_page_writes_them() -> None:
    assert tool.duration(4.2) == "4 s"
    assert tool.duration(3044) == "51 min (3,044 s)"
    assert tool.duration(11150) == "3.1 h (11,150 s)"


def test_markers_are_required_once_and_in_order() -> None:
    text = f"a\n{tool.START}\nold\n{tool.END}\nb\n"
    assert tool.rewrite(text, "new\n", "page") == f"a\n{tool.START}\nnew\n{tool.END}\nb\n"
    for bad in ("no markers", f"{tool.END}{tool.START}", f"{tool.START}{tool.START}{tool.END}"):
        with pytest.raises(ValueError, match="page: needs one"):
            tool.rewrite(bad, "x", "page")


def test_the_page_states_the_current_plan(relate_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HUMANCLAP_RELATE_DIR", str(relate_dir))
    block = tool.block(ROOT)
    assert "| **total** |" in block and "assumed, not measured" in block
    assert tool.main(["--check"]) == 0, capsys.readouterr().err
