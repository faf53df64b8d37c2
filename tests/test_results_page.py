"""The results page: which world each chapter ran on, and every headline beside the paper's figure
(humanclap.book.summary, humanclap.book.paper, notebooks/95_results.ipynb)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

import humanclap.book as hb
from humanclap.book import runner as nbrun
from humanclap.book.banner import BANNER_METADATA
from humanclap.book.headlines import Headline, headline_output
from humanclap.data import XACLE_PUBLISHED
from humanclap.plots import table_text

ROOT = Path(__file__).resolve().parents[1]
TOC = """format: jb-book
root: book/intro
parts:
  - caption: Chapters
    chapters:
      - file: book/chapters/01_human_ratings
      - file: book/chapters/02_clapscore_vs_humans
      - file: book/chapters/03_human_clap
      - file: book/chapters/04_loss_study
      - file: book/chapters/06_any_metric
  - caption: Results
    chapters:
      - file: book/chapters/95_results
"""


def write_chapter(path: Path, title: str, world: str | None, headlines: list[Headline]) -> Path:
    """An executed chapter as the runner leaves it: a title, a banner recording ``world``
    (``None``: no banner) and one output per headline, with their metadata."""
    outputs = []
    if world is not None:
        ran = {"dataset": world, "simulated": world == "synthetic", "reason": ""}
        outputs.append({"output_type": "display_data", "data": {"text/markdown": "> World"},
                        "metadata": {BANNER_METADATA: ran}})  # fmt: skip
    for item in headlines:
        _, meta = headline_output(item)
        outputs.append({"output_type": "display_data", "data": {"text/markdown": "**x**"},
                        "metadata": json.loads(json.dumps(meta))})  # fmt: skip
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": f"# {title}\n\nText."},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "x",
         "outputs": outputs},
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _sim(key: str, quantity: str, estimate: float, lo: float = math.nan, hi: float = math.nan):
    return Headline(key, quantity, estimate, lo, hi, n=282, world="synthetic", simulated=True)


def _real(key: str, quantity: str, estimate: float, lo: float = math.nan, hi: float = math.nan):
    return Headline(key, quantity, estimate, lo, hi, n=1311, world="relate", simulated=False)


def write_book(root: Path, relate_run: bool = False) -> Path:
    """A book with chapter 1 and 6 run on RELATE, chapter 2 on the world, 3 and 4 not run;
    with ``relate_run``, chapter 2 also in ``book/relate`` on RELATE."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "_toc.yml").write_text(TOC)
    (root / "notebooks").mkdir(parents=True)
    write_chapter(root / "notebooks/03_human_clap.ipynb", "3. Human-CLAP", None, [])
    write_chapter(root / "notebooks/04_loss_study.ipynb", "4. Which loss? A study", None, [])
    chapters = root / "book/chapters"
    write_chapter(chapters / "01_human_ratings.ipynb", "1. Human ratings", "relate",
                  [_real("ch1_icc11", "ICC(1,1)", 0.4412, 0.43, 0.45)])  # fmt: skip
    write_chapter(
        chapters / "02_clapscore_vs_humans.ipynb", "2. CLAPScore vs humans", "synthetic",
        [_sim("ch2_clapscore_srcc", "SRCC of CLAPScore", 0.29912, 0.185, 0.4),
         _sim("ch2_clapscore_lcc", "LCC of CLAPScore", 0.31)],
    )  # fmt: skip
    write_chapter(chapters / "06_any_metric.ipynb", "6. Any metric", "relate",
                  [_real("ch6_xacle_srcc", "SRCC of the XACLE baseline", 0.3606, 0.31, 0.41)])  # fmt: skip
    if relate_run:
        write_chapter(root / "book/relate/02_clapscore_vs_humans.ipynb", "2. CLAPScore", "relate",
                      [_real("ch2_clapscore_srcc", "SRCC of CLAPScore", 0.27, 0.22, 0.32)])  # fmt: skip
    return root


def test_chapter_runs_lists_every_chapter_and_where_it_ran(tmp_path: Path) -> None:
    runs = hb.chapter_runs(write_book(tmp_path))
    assert runs[["chapter", "ran_on", "simulated"]].values.tolist() == [
        ["01_human_ratings", "RELATE (real)", False],
        ["02_clapscore_vs_humans", "embedded world (simulated)", True],
        ["03_human_clap", "not run", False],
        ["04_loss_study", "not run", False],
        ["06_any_metric", "RELATE (real)", False],
    ]
    assert runs["title"].tolist()[:3] == ["1. Human ratings", "2. CLAPScore vs humans",
                                          "3. Human-CLAP"]  # fmt: skip
    assert runs["path"].isna().tolist() == [False, False, True, True, False]


def test_book_root_is_found_from_a_subfolder(tmp_path: Path, monkeypatch) -> None:
    write_book(tmp_path)
    monkeypatch.chdir(tmp_path / "notebooks")
    assert hb.book_root() == tmp_path.resolve()
    assert hb.book_root("elsewhere") == Path("elsewhere")
    monkeypatch.chdir(tmp_path.parent)
    with pytest.raises(FileNotFoundError, match="_toc.yml"):
        hb.book_root()


def test_comparison_table_rows_tags_and_paper_figures(tmp_path: Path) -> None:
    runs = hb.chapter_runs(write_book(tmp_path))
    table = hb.comparison_table(hb.run_headlines(runs), runs)
    assert table["key"].tolist() == [
        "ch1_icc11", "ch2_clapscore_srcc", "ch2_clapscore_lcc", "ch3_gain_srcc", "",
        "ch6_xacle_srcc", "ch6_xacle_lcc",
    ]  # fmt: skip
    assert table["tag"].tolist() == [
        "real", "simulated", "simulated", "not run", "not run", "real",
        "not recorded by the chapter",
    ]  # fmt: skip
    # A chapter not run, with no paper figure: one row with its title.
    assert table.loc[4, "quantity"] == "Ch. 4: Which loss? A study"
    assert table.loc[4, ["real", "simulated"]].isna().all() and table.loc[4, "paper"] == "–"
    row = table.set_index("key").loc["ch2_clapscore_srcc"]
    # A simulated number is never set beside the paper's figure as comparable.
    assert row["paper"] == "≈ 0.28 (RELATE; not comparable)" and row["paper_value"] == 0.28
    assert math.isnan(row["real"]) and row["simulated"] == 0.29912 and row["simulated_n"] == 282
    assert (row["simulated_lo"], row["simulated_hi"]) == (0.185, 0.4)
    xacle = table.set_index("key").loc["ch6_xacle_srcc"]
    assert xacle["paper"] == "0.3606" and xacle["real"] == 0.3606 and xacle["real_n"] == 1311
    assert math.isnan(xacle["simulated"])
    gain = table.set_index("key").loc["ch3_gain_srcc"]
    assert gain["paper"] == "> 0.17" and gain["quantity"].startswith("Ch. 3: ")
    assert table.set_index("key").loc["ch1_icc11", "paper"] == "–"
    shown = table_text(table, columns=hb.COMPARISON_COLUMNS)
    assert list(shown.columns) == [
        "quantity", "paper", "this book on RELATE (real) [95% CI]",
        "this book on the world (simulated) [95% CI]", "real / simulated",
    ]  # fmt: skip
    assert shown.iloc[1, 3] == "0.299 [0.185, 0.400]" and shown.iloc[1, 2] == "–"


def test_a_real_run_fills_the_real_column_beside_the_simulated_one(tmp_path: Path) -> None:
    runs = hb.chapter_runs(write_book(tmp_path, relate_run=True))
    assert runs[runs["chapter"] == "02_clapscore_vs_humans"]["folder"].tolist() == [
        "book/chapters", "book/relate",
    ]  # fmt: skip
    table = hb.comparison_table(hb.run_headlines(runs), runs).set_index("key")
    row = table.loc["ch2_clapscore_srcc"]
    assert (row["real"], row["simulated"], row["tag"]) == (0.27, 0.29912, "real + simulated")
    assert row["paper"] == "≈ 0.28"  # a real number is there: the figure is comparable
    assert table.loc["ch2_clapscore_lcc", "tag"] == "simulated"


def test_a_second_real_run_gets_its_own_row(tmp_path: Path) -> None:
    root = write_book(tmp_path, relate_run=True)
    write_chapter(root / "book/relate-laion/02_clapscore_vs_humans.ipynb", "2. CLAPScore",
                  "relate", [_real("ch2_clapscore_srcc", "SRCC of CLAPScore", 0.25)])  # fmt: skip
    runs = hb.chapter_runs(root)
    table = hb.comparison_table(hb.run_headlines(runs), runs)
    rows = table[table["key"] == "ch2_clapscore_srcc"]
    assert rows["quantity"].tolist() == [
        "Ch. 2: SRCC of CLAPScore", "Ch. 2: SRCC of CLAPScore (`book/relate-laion`)",
    ]  # fmt: skip
    assert rows["real"].tolist() == [0.27, 0.25] and rows["tag"].tolist() == [
        "real + simulated",
        "real",
    ]
    assert rows["paper"].tolist() == ["≈ 0.28", "≈ 0.28"]


def test_no_executed_chapter_gives_not_run_rows(tmp_path: Path) -> None:
    root = write_book(tmp_path)
    for path in (root / "book/chapters").glob("*.ipynb"):
        path.unlink()
    runs = hb.chapter_runs(root)
    headlines = hb.run_headlines(runs)
    assert headlines.empty and "folder" in headlines.columns
    table = hb.comparison_table(headlines, runs)
    assert set(table["tag"]) == {"not run"}
    keys = [k for k in table["key"] if k]
    assert keys == [f.key for f in hb.PAPER_FIGURES]
    # Titles of chapters not run come from their source notebooks (the stem when there is none).
    not_run = table[table["key"] == ""]["quantity"].tolist()
    assert not_run == ["01_human_ratings", "Ch. 4: Which loss? A study"]
    banner = hb.results_banner(runs, {"book_dir": None}).data
    assert "RELATE (real): none" in banner and "Not run: 1, 2, 3, 4, 6." in banner


def test_results_banner_names_the_worlds(tmp_path: Path) -> None:
    runs = hb.chapter_runs(write_book(tmp_path))
    text = hb.results_banner(runs, {"book_dir": None}).data
    assert "**World:** none of its own" in text
    assert "RELATE (real): 1, 6. On the embedded world (simulated): 2. Not run: 3, 4." in text


def test_paper_figures_are_sourced_and_keyed_to_book_chapters() -> None:
    stems = nbrun.book_notebooks(ROOT / "_toc.yml")
    numbers = {s.split("_", 1)[0].lstrip("0") for s in stems}
    for figure in hb.PAPER_FIGURES:
        assert figure.chapter_number in numbers, figure.key
        assert set(figure.sources) <= set(hb.paper.SOURCES), figure.key
    by_key = {f.key: f for f in hb.PAPER_FIGURES}
    # One place: the XACLE baseline's published figures are the data module's.
    assert by_key["ch6_xacle_srcc"].value == XACLE_PUBLISHED["srcc"] == 0.3606
    assert by_key["ch6_xacle_lcc"].text == "0.3678"
    text = hb.paper_sources()
    assert "arXiv:2506.23553" in text and "INTERSPEECH 2025" in text
    assert text.count("compared with `") == len(hb.PAPER_FIGURES)


def test_run_headlines_keeps_the_folder(tmp_path: Path) -> None:
    runs = hb.chapter_runs(write_book(tmp_path, relate_run=True))
    headlines = hb.run_headlines(runs)
    assert headlines[["chapter", "folder", "estimate"]].values.tolist()[1:4] == [
        ["02_clapscore_vs_humans", "book/chapters", 0.29912],
        ["02_clapscore_vs_humans", "book/chapters", 0.31],
        ["02_clapscore_vs_humans", "book/relate", 0.27],
    ]
    assert isinstance(headlines, pd.DataFrame)


@pytest.mark.notebook
def test_results_page_runs_on_a_fixture_book(tmp_path: Path) -> None:
    root = write_book(tmp_path)
    out = nbrun.run_notebook(
        ROOT / "notebooks" / "95_results.ipynb", tmp_path / "out.ipynb", {"book_dir": str(root)}
    )
    text = out.read_text()
    assert "World:" in text and "not run" in text and "0.299 [0.185, 0.400]" in text
    assert "humanclap-results.csv" in text and "≈ 0.28 (RELATE; not comparable)" in text
