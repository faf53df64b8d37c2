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


def test_published_table_is_sourced_and_reads_only_real_numbers(tmp_path: Path) -> None:
    runs = hb.chapter_runs(write_book(tmp_path))
    table = hb.published_table(hb.run_headlines(runs))
    assert list(table.columns) == list(hb.results_page.PUBLISHED_COLUMNS)
    assert set(table["source"]) <= set(hb.published.SOURCES)
    rows = table.set_index(["source", "metric"])
    elsa = rows.loc[("ELSA", "LAION CLAPScore")]
    assert (elsa["srcc"], elsa["ktau"], elsa["lcc"]) == ("0.183", "0.126", "–")
    assert rows.loc[("ELSA", "ELSA"), ["srcc", "ktau"]].tolist() == ["0.379", "0.262"]
    poster = rows.loc[("Human-CLAP poster", "LAION CLAPScore")]
    assert poster["srcc"] == "0.280"
    # Chapter 2 ran only on the world: its simulated 0.299 never enters this table.
    assert poster["book_real"] == "not run on RELATE" and "0.299" not in table.to_string()
    xacle = rows.loc[("XACLE baseline", "XACLE baseline")]
    assert xacle["srcc"] == f"{XACLE_PUBLISHED['srcc']:.3f}"
    assert xacle["book_real"] == "0.361 [0.310, 0.410]"  # chapter 6's recomputation
    assert rows.loc[("ELSA", "PAM"), "book_real"] == "–"  # no such quantity in the book
    shown = table_text(table, columns=hb.results_page.PUBLISHED_COLUMNS)
    assert "SRCC (ρ)" in shown.columns and "KTAU (τ)" in shown.columns


def test_a_real_run_fills_the_published_rows_with_its_folder(tmp_path: Path) -> None:
    root = write_book(tmp_path, relate_run=True)
    write_chapter(root / "book/relate-laion/02_clapscore_vs_humans.ipynb", "2. CLAPScore",
                  "relate", [_real("ch2_clapscore_srcc", "SRCC of CLAPScore", 0.25)])  # fmt: skip
    runs = hb.chapter_runs(root)
    table = hb.published_table(hb.run_headlines(runs)).set_index(["source", "metric"])
    assert table.loc[("ELSA", "LAION CLAPScore"), "book_real"] == (
        "0.270 [0.220, 0.320] (`book/relate`); 0.250 (`book/relate-laion`)"
    )


def test_real_and_simulated_tables_never_mix(tmp_path: Path) -> None:
    runs = hb.chapter_runs(write_book(tmp_path, relate_run=True))
    headlines = hb.run_headlines(runs)
    real = hb.real_table(headlines, runs)
    sim = hb.simulated_table(headlines, runs)
    assert real["chapter"].tolist() == ["Ch. 1", "Ch. 2", "Ch. 6"]
    assert real["quantity"].tolist()[1] == "SRCC of CLAPScore (`book/relate`)"
    assert real["value"].tolist() == [0.4412, 0.27, 0.3606]
    assert sim["chapter"].tolist() == ["Ch. 2", "Ch. 2"] and sim["value"].tolist() == [
        0.29912,
        0.31,
    ]
    shown = table_text(sim, columns=hb.results_page._HEADLINE_COLUMNS)
    assert shown.iloc[0, 2] == "0.299 [0.185, 0.400]"
    assert not any("paper" in c for c in shown.columns)


def test_discrepancies_are_computed_from_the_published_figures() -> None:
    lines = hb.published_discrepancies()
    assert "0.280 on the poster, 0.183 in ELSA's table, a difference of 0.097" in lines[0]
    assert "is about 0.457" in lines[1] and "at 0.315, 0.142 lower" in lines[1]
    text = hb.published_sources()
    assert "kento2247/ELSA_ProjectPage" in text and "SI-SDR -2.4" in text


def test_settings_table_reads_the_real_run_parameters() -> None:
    table = hb.settings_table(ROOT).set_index("setting")
    assert (
        "48 kHz" in table.loc["audio rate", "book"] and table.loc["audio rate", "elsa"] == "16 kHz"
    )
    assert "`hf:laion/clap-htsat-fused`" in table.loc["model (fusion)", "book"]
    assert "`laion:630k-audioset-best`" in table.loc["model (fusion)", "book"]
    assert table.loc["caption cut", "book"].startswith("77 tokens")
    assert table.loc["split", "book"].startswith("`test`")


def test_no_executed_chapter_gives_not_run_rows(tmp_path: Path) -> None:
    root = write_book(tmp_path)
    for path in (root / "book/chapters").glob("*.ipynb"):
        path.unlink()
    runs = hb.chapter_runs(root)
    headlines = hb.run_headlines(runs)
    assert headlines.empty and "folder" in headlines.columns
    table = hb.published_table(headlines)
    assert set(table["book_real"]) == {"not run on RELATE", "–"}
    assert hb.real_table(headlines, runs).empty and hb.simulated_table(headlines, runs).empty
    # Titles of chapters not run come from their source notebooks (the stem when there is none).
    assert runs[runs["ran_on"] == "not run"]["title"].tolist()[:1] == ["01_human_ratings"]
    banner = hb.results_banner(runs, {"book_dir": None}).data
    assert "RELATE (real): none" in banner and "Not run: 1, 2, 3, 4, 6." in banner


def test_results_banner_names_the_worlds(tmp_path: Path) -> None:
    runs = hb.chapter_runs(write_book(tmp_path))
    text = hb.results_banner(runs, {"book_dir": None}).data
    assert "**World:** none of its own" in text
    assert "RELATE (real): 1, 6. On the embedded world (simulated): 2. Not run: 3, 4." in text


def test_published_figures_are_keyed_to_book_chapters() -> None:
    stems = nbrun.book_notebooks(ROOT / "_toc.yml")
    numbers = {s.split("_", 1)[0].lstrip("0") for s in stems}
    for figure in hb.PUBLISHED:
        assert figure.source in hb.published.SOURCES, figure
        if figure.key is not None:
            assert figure.key.split("_", 1)[0].removeprefix("ch") in numbers, figure.key
    xacle = next(f for f in hb.PUBLISHED if f.source == "XACLE baseline")
    # One place: the XACLE baseline's published figures are the data module's.
    assert (xacle.srcc, xacle.lcc) == (XACLE_PUBLISHED["srcc"], XACLE_PUBLISHED["lcc"])


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
    (root / "params").mkdir()
    for name in ("relate-gpu.yaml", "relate-laion.yaml"):  # the settings table reads them
        (root / "params" / name).write_text((ROOT / "params" / name).read_text())
    out = nbrun.run_notebook(
        ROOT / "notebooks" / "95_results.ipynb", tmp_path / "out.ipynb", {"book_dir": str(root)}
    )
    text = out.read_text()
    assert "World:" in text and "not run" in text and "0.299 [0.185, 0.400]" in text
    assert "humanclap-published.csv" in text and "kento2247/ELSA_ProjectPage" in text
    assert "not comparable" not in text


def test_the_released_human_clap_run_fills_its_own_row_only(tmp_path: Path) -> None:
    root = write_book(tmp_path, relate_run=True)
    write_chapter(root / "book/relate-human-clap/02_clapscore_vs_humans.ipynb", "2. CLAPScore",
                  "relate", [_real("ch2_clapscore_srcc", "SRCC of CLAPScore", 0.33)])  # fmt: skip
    runs = hb.chapter_runs(root)
    table = hb.published_table(hb.run_headlines(runs)).set_index(["source", "metric"])
    released = table.loc[("ELSA", "Human-CLAP (released checkpoint)"), "book_real"]
    assert released == "0.330 (`book/relate-human-clap`)"
    assert "0.330" not in table.loc[("ELSA", "LAION CLAPScore"), "book_real"]
