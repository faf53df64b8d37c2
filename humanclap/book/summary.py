"""The book's results in one place: which world each chapter ran on, the headline numbers of the
executed chapters, and the README's block of numbers.

The results page (``notebooks/95_results.ipynb``) and ``tools/readme_numbers.py`` both read the
executed chapters (:func:`chapter_runs`, :func:`run_headlines`), so the page, the README and the
chapters cannot disagree. A chapter that has not been executed is listed as "not run", never an
error. The results page's three tables (published, real, simulated) are
:mod:`humanclap.book.results_page`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pandas.io.formats.style import Styler

from humanclap import plots
from humanclap.book.banner import banner
from humanclap.book.headlines import Headline, collect_headlines
from humanclap.book.runner import book_notebooks, ran_on

__all__ = [
    "FOLDERS",
    "RESULTS_PAGE",
    "book_root",
    "chapter_runs",
    "chapter_short_name",
    "readme_block",
    "results_banner",
    "run_headlines",
    "runs_view",
]

#: The results page's own stem: it is in the toc but is not a chapter with results.
RESULTS_PAGE = "95_results"
#: Where executed chapters are, relative to the book's root: the book's build, then the real
#: run's (``make relate`` writes ``book/relate/``, chapter 2 with the non-fusion LAION-CLAP
#: checkpoint to ``book/relate-laion/`` and with the released Human-CLAP to
#: ``book/relate-human-clap/``).
FOLDERS: tuple[str, ...] = (
    "book/chapters",
    "book/relate",
    "book/relate-laion",
    "book/relate-human-clap",
)
#: Words that may wrap in a table cell (format_table keeps cells on one line).
_WRAP = [("white-space", "normal"), ("text-align", "left"), ("padding-left", "0.6em")]
_WORLDS = {"relate": "RELATE (real)", "synthetic": "embedded world (simulated)"}


def book_root(start: str | os.PathLike | None = None) -> Path:
    """The book's root: ``start`` if given, else the first folder from the working folder upwards
    that holds ``_toc.yml``.

    Raises
    ------
    FileNotFoundError
        When no folder up to the file system's root holds ``_toc.yml``.
    """
    if start is not None:
        return Path(start)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    raise FileNotFoundError(f"no _toc.yml in {here} or any folder above it: pass the book's root")


def _title(path: Path) -> str:
    """The first ``# `` heading of a notebook, else its stem."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, json.JSONDecodeError):
        return path.stem
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def chapter_runs(
    root: str | os.PathLike | None = None, folders: Sequence[str] | None = None
) -> pd.DataFrame:
    """Each chapter of the toc, with where and on what it was executed.

    Parameters
    ----------
    root : path, optional
        The book's root (:func:`book_root`).
    folders : sequence of str, optional
        Folders of executed chapters, relative to ``root`` (default :data:`FOLDERS`); the first
        is the book's build (a chapter missing there is "not run"), the others add a row only
        where they hold the chapter.

    Returns
    -------
    DataFrame
        One row per executed (chapter, folder), plus one per chapter not run in the first folder:
        ``chapter`` (stem), ``title``, ``folder``, ``ran_on`` ("RELATE (real)", "embedded world
        (simulated)", "a folder of audio", "no banner" or "not run"), ``simulated`` (bool),
        ``path`` (str, or None when not run). Book order; the results page left out.
    """
    root = book_root(root)
    folders = list(FOLDERS if folders is None else folders)
    stems = [s for s in book_notebooks(root / "_toc.yml", folders[0]) if s != RESULTS_PAGE]
    rows = []
    for stem in stems:
        for i, folder in enumerate(folders):
            path = root / folder / f"{stem}.ipynb"
            if not path.is_file():
                if i == 0:
                    title = _title(root / "notebooks" / f"{stem}.ipynb")
                    rows.append([stem, title, folder, "not run", False, None])
                continue
            world = ran_on(path)
            kind = world.get("dataset")
            label = _WORLDS.get(kind, "a folder of audio" if kind else "no banner")
            rows.append(
                [stem, _title(path), folder, label, bool(world.get("simulated")), str(path)]
            )
    columns = ["chapter", "title", "folder", "ran_on", "simulated", "path"]
    return pd.DataFrame(rows, columns=columns)


def run_headlines(runs: pd.DataFrame) -> pd.DataFrame:
    """The headlines of every executed chapter of ``runs`` (:func:`chapter_runs`).

    Returns
    -------
    DataFrame
        :func:`humanclap.book.collect_headlines`'s columns plus ``folder``.
    """
    done = runs.dropna(subset=["path"])
    pairs = zip(done["path"], done["folder"], strict=True)
    parts = [collect_headlines([path]).assign(folder=folder) for path, folder in pairs]
    if not parts:
        return collect_headlines([]).assign(folder=pd.Series(dtype=object))
    return pd.concat(parts, ignore_index=True)


def _chapter_number(stem: str) -> str:
    """``"02_clapscore_vs_humans"`` -> ``"2"``."""
    return stem.split("_", 1)[0].lstrip("0") or "0"


def chapter_short_name(stem: str, title: str) -> str:
    """A chapter's short name: its number ("2", from "2. CLAPScore ...") or the word before a
    colon ("Appendix", from "Appendix: the embedded world"), else the stem's number."""
    number = re.match(r"^(\d+)\.", title)
    if number:
        return number.group(1)
    head = title.split(":", 1)[0]
    return head if ":" in title and len(head) <= 12 else _chapter_number(stem)


def _wrapped(styler: Styler, widths: dict[int, str]) -> Styler:
    """``styler`` with the cells of the columns at the positions of ``widths`` left-aligned and
    allowed to wrap, each at least its width wide."""
    styles = [
        {"selector": f"td.col{i}", "props": [*_WRAP, ("min-width", width)]}
        for i, width in widths.items()
    ]
    return styler.set_table_styles(styles, overwrite=False)


def runs_view(runs: pd.DataFrame) -> Styler:
    """:func:`chapter_runs` as a table: title, folder, world (titles wrapping).

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    columns = {"title": "chapter", "folder": "folder", "ran_on": "ran on"}
    return _wrapped(plots.format_table(runs, columns=columns), {0: "14em"})


def _grouped(runs: pd.DataFrame, label: str) -> str:
    """The short names of the chapters of ``runs`` whose ``ran_on`` is ``label``, in order."""
    chosen = runs[runs["ran_on"] == label].drop_duplicates("chapter")
    names = [
        chapter_short_name(s, t) for s, t in zip(chosen["chapter"], chosen["title"], strict=True)
    ]
    return ", ".join(names) if names else "none"


def results_banner(runs: pd.DataFrame, params: dict) -> object:
    """The results page's opening box: it has no data of its own; which chapters ran on RELATE,
    which on the simulation, which were not run.

    Returns
    -------
    IPython.display.Markdown
    """
    note = (
        f"Chapters that ran on RELATE (real): {_grouped(runs, _WORLDS['relate'])}. "
        f"On the embedded world (simulated): {_grouped(runs, _WORLDS['synthetic'])}. "
        f"Not run: {_grouped(runs, 'not run')}."
    )
    world = "none of its own: the headline numbers the executed chapters recorded"
    return banner(world=world, model="none", params=params, note=note)


def readme_block(runs: pd.DataFrame, headlines: pd.DataFrame) -> str:
    """The README's numbers: one bullet per executed chapter with its headline numbers.

    Parameters
    ----------
    runs, headlines : DataFrame
        :func:`chapter_runs` and :func:`run_headlines`.

    Returns
    -------
    str
        Markdown lines (no trailing newline); the same inputs always give the same text.
    """
    lines = []
    for run in runs.itertuples(index=False):
        if pd.isna(run.path):
            lines.append(f"- **{run.title}** (not run in this build).")
            continue
        where = "" if run.folder == FOLDERS[0] else f", `{run.folder}`"
        if run.simulated:
            ran = f"embedded world, **simulated**: a method check, not a finding{where}"
        else:
            ran = run.ran_on.replace(" (real)", ", real") + where
        own = headlines[(headlines["chapter"] == run.chapter) & (headlines["folder"] == run.folder)]
        items = [_headline_text(h) for h in own.itertuples(index=False)]
        numbers = "; ".join(items) if items else "no headline numbers"
        lines.append(f"- **{run.title}** ({ran}): {numbers}.")
    return "\n".join(lines)


def _headline_text(row: object) -> str:
    value = Headline(row.key, row.quantity, row.estimate, row.lo, row.hi).text()
    count = "" if pd.isna(row.n) else f" (n = {int(row.n):,})"
    return f"{row.quantity} = {value}{count}"
