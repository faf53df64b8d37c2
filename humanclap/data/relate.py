"""The RELATE ratings (Kanamori et al., Interspeech 2025): locate, read, validate, screen.

:func:`load_relate` is here; the steps it takes live in their own modules, whose public names
this module re-exports: :mod:`humanclap.data.locate` (where the files are, downloads,
checksums), :mod:`humanclap.data.ratings` (reading and validating a scores file),
:mod:`humanclap.data.screening` (IS/OS splits, what screening removes,
:func:`screening_summary`) and :mod:`humanclap.data.pairs` (:func:`pair_table`,
:func:`explode_categories`). :mod:`humanclap.data.files` holds what they share
(:class:`RelateDataError`, :data:`ASPECTS`, :data:`SOURCES`, :data:`SPLITS`).

RELATE holds 11-point ratings (0..10) of how well a text describes an audio clip, by native
English listeners, for three aspects: ``REL`` (overall relevance), ``IS`` (inclusion of the
sound events) and ``OS`` (their order). Files, at commit ``05935d9`` of
``sarulab-speech/RELATE``::

    <root>/scores/REL.csv               28,770 ratings, 1,370 listeners ("0000"...)
    <root>/scores/IS.csv                28,833 ratings, 1,373 listeners ("10000"...)
    <root>/scores/OS.csv                28,833 ratings (the same listeners and pairs as IS)
    <root>/listener_attributes/REL.csv
    <root>/listener_attributes/IS_and_OS.csv

Facts used here (checked on the files at that commit)
-----------------------------------------------------
- Every listener rated 21 items: 18 real pairs (6 captions x 3 audios) and 3 *anchors* (an
  AudioCaps clip with the caption of another clip, used to screen listeners).
- ``source`` is the first folder of ``wavname`` (audiocaps, audioldm, audioldm2, tango, tango2);
  the ``audio type`` column merges Tango with Tango2 and AudioLDM with AudioLDM2.
- The number in the file name is the AudioCaps ``audiocap_id``; the second folder is the
  AudioCaps split (train/test). RELATE's ``train`` split is exactly the AudioCaps-train clips;
  ``validation`` and ``test`` both come from AudioCaps-test.
- All audios of one ``audiocap_id`` are in the same RELATE split (0 exceptions).

Screening (REL)
---------------
The dataset README screens with ``df[df["in RELATE dataset"] != "excluded"]`` (17,774 rows).
That keeps 14 rows that are *anchors* although labelled ``train`` (13) or ``validation`` (1):
the pairs ``/audiocaps/train/73803.wav`` (9 ratings), ``/audiocaps/train/39576.wav`` (4) and
``/audiocaps/test/105433.wav`` (1), each the clip paired with another clip's caption. They are
the only reason three wav files appear with two different texts after screening, and one of
the four captions that "cross" REL splits ("A dog whimpering and crying"). The paper's table
(train 9,963 ratings / 2,862 pairs; validation+test 7,797 / 2,598) counts exactly the rows
that remain once these anchors are removed too. Hence ``load_relate(screened=True)`` drops
all anchors by default (``drop_anchors=True``: 17,760 rows, 5,460 pairs);
``drop_anchors=False`` reproduces the README rule exactly (17,774 rows, 5,463 pairs).
The other three split-crossing captions ("A clock ticking", "A toilet is flushed",
"A woman delivering a speech") are genuinely different AudioCaps clips that share a caption
string; they are left as they are (a caption-level, not clip-level, overlap).

Splits and screening of IS / OS
-------------------------------
``IS.csv`` / ``OS.csv`` have no ``in RELATE dataset`` column, and their listeners (a separate
pool) were screened in the paper by a rule whose result is not published (the paper counts
13,506 IS and 6,960 OS ratings; the files hold 24,714 non-anchor rows each). Rule used here,
per row:

1. anchors -> ``split = "excluded"``;
2. otherwise the split of the same (wavname, text) pair among the screened, non-anchor REL
   ratings;
3. otherwise the split of the same ``audiocap_id`` there (never needed on the real files, where
   every pair with a REL split is found in step 2 and the two agree);
4. otherwise ``"unassigned"``: the clip has no screened REL rating (REL screening removed every
   rating of its caption group, or it is absent from REL).

On the real files: 5,331 of 5,856 non-anchor IS/OS pairs (22,437 rows) get a split from step 2;
525 pairs (2,277 rows, 175 clips) stay unassigned. ``screened=True`` drops the anchors (4,119
rows) and the unassigned rows. No listener screening is applied to IS/OS (none is published).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pandas as pd

from humanclap.data.audioset_labels import load_audioset_labels
from humanclap.data.categories import ROOT_CATEGORIES_FILENAME, load_categories
from humanclap.data.event_types import label_categories
from humanclap.data.files import (
    ASPECTS,
    AUDIOCAPS_SPLITS,
    SOURCES,
    SPLITS,
    RelateDataError,
    read_csv_checked,
    row_error,
)
from humanclap.data.locate import (
    ENV_RELATE_DIR,
    ENV_RELATE_URL,
    RELATE_BASE_URL,
    RELATE_COMMIT,
    RELATE_FILES,
    relate_cache_dir,
    resolve_relate_root,
)
from humanclap.data.ontology import find_ontology, load_ontology
from humanclap.data.pairs import explode_categories, pair_table
from humanclap.data.screening import (
    load_all_rows,
    removal_reasons,
    screening_counts,
    screening_summary,
)

__all__ = [
    "ASPECTS",
    "AUDIOCAPS_SPLITS",
    "ENV_RELATE_DIR",
    "ENV_RELATE_URL",
    "RELATE_BASE_URL",
    "RELATE_COMMIT",
    "RELATE_FILES",
    "SOURCES",
    "SPLITS",
    "RelateDataError",
    "explode_categories",
    "load_relate",
    "pair_table",
    "read_csv_checked",
    "relate_cache_dir",
    "resolve_relate_root",
    "row_error",
    "screening_summary",
]


def _screen(
    ratings: pd.DataFrame, aspect: str, screened: bool, drop_anchors: bool
) -> tuple[pd.DataFrame, dict[str, int] | None]:
    """The rows screening keeps (index reset) and its counts (``None`` when not screened)."""
    screening = None
    if screened:
        reason = removal_reasons(ratings, aspect, drop_anchors)
        screening = screening_counts(ratings, reason)
        ratings = ratings[reason == ""]
    return ratings.reset_index(drop=True), screening


def _label_table(required: bool, download: bool) -> pd.DataFrame | None:
    """Top-level categories of RELATE's clips from AudioSet's labels (``None``: no ontology)."""
    found = find_ontology(download_missing=download)
    if found is None and not required:
        return None
    table = label_categories(load_audioset_labels(), load_ontology(found, download=download))
    table.attrs["path"] = f"AudioSet labels of the clips (ontology {found})"
    return table


def _category_table(
    categories: bool | Literal["auto", "xacle"] | str | os.PathLike,
    root: Path,
    origin: str,
    download: bool,
) -> tuple[pd.DataFrame | None, bool]:
    """The category table ``categories`` asks for, and whether every clip must be covered."""
    if isinstance(categories, (str, os.PathLike)) and categories not in ("auto", "xacle"):
        return load_categories(path=categories), True
    if categories == "xacle":
        return load_categories(download=download), True
    if categories not in (True, "auto"):
        raise ValueError(
            f"categories must be True, False, 'auto', 'xacle' or a path, got {categories!r}"
        )
    required = categories is True
    if (root / ROOT_CATEGORIES_FILENAME).is_file():  # a RELATE-layout world's own table
        return load_categories(root=root), required
    # "auto" downloads the ontology only alongside RELATE files that are themselves managed.
    allowed = download and (required or origin in ("cache", "download"))
    return _label_table(required, allowed), required


def _add_categories(
    ratings: pd.DataFrame,
    categories: bool | Literal["auto", "xacle"] | str | os.PathLike,
    root: Path,
    origin: str,
    download: bool,
) -> tuple[pd.DataFrame, str | None, int]:
    """Add ``categories`` and ``category`` (see :func:`load_relate`); return the table's source
    (or ``None``) and the number of rows whose clip it does not cover."""
    if categories is False:
        return ratings, None, 0
    table, required = _category_table(categories, root, origin, download)
    if table is None:
        return ratings, None, 0
    names = ratings["audiocap_id"].map(table.set_index("audiocap_id")["categories"])
    num_missing = int(names.isna().sum())
    if num_missing and required:
        missing_ids = sorted(ratings.loc[names.isna(), "audiocap_id"].unique())
        raise RelateDataError(
            f"{table.attrs['path']}: no categories for {len(missing_ids)} audiocap_id(s) used in "
            f"RELATE ({num_missing} rows), e.g. {missing_ids[:5]}"
        )
    names = names.fillna("").astype(str)
    ratings = ratings.assign(categories=names, category=names.str.split("|").str[0].astype(str))
    return ratings, table.attrs["path"], num_missing


def load_relate(
    root: str | os.PathLike | None = None,
    aspect: str = "REL",
    screened: bool = True,
    categories: bool | Literal["auto", "xacle"] | str | os.PathLike = "auto",
    *,
    drop_anchors: bool = True,
    verify: bool | Literal["auto"] = "auto",
    download: bool = True,
) -> pd.DataFrame:
    """Load the RELATE ratings of one aspect, validated, one row per rating.

    Parameters
    ----------
    root : path-like, optional
        Folder with ``scores/*.csv``; see :func:`resolve_relate_root` for the search order.
    aspect : {"REL", "IS", "OS"}
        Which score. IS/OS also read ``scores/REL.csv`` to derive their split (module doc).
    screened : bool
        REL: drop rows whose ``in RELATE dataset`` is ``excluded`` (the dataset README's rule;
        anchors and screened listeners), and, with ``drop_anchors``, the 14 anchor rows that
        carry a split label. IS/OS: drop anchors and rows whose split is ``"unassigned"``.
        ``False`` keeps every row (``split`` is then ``"excluded"`` for REL-excluded rows and
        IS/OS anchors, ``"unassigned"`` for IS/OS rows without a derivable split).
    categories : {"auto", True, False, "xacle"} or path-like
        Add ``categories`` (AudioSet top-level names joined by ``"|"``, ``""`` when the clip is
        not covered) and ``category`` (the first name). ``"auto"``: a RELATE-layout root's own
        ``audiocaps_categories.csv`` (a simulated world) when present; otherwise the top-level
        categories of the AudioSet labels AudioSet's annotators gave each clip
        (:func:`humanclap.data.load_audioset_labels`, rolled up with the ontology:
        :func:`humanclap.data.label_categories`), when the ontology is found
        (:func:`humanclap.data.find_ontology`; downloaded only when the RELATE files themselves
        come from the cache), otherwise none, silently. ``True``: the same, required, and every
        clip must be covered. ``"xacle"``: the XACLE baseline's caption-derived category table
        (:func:`humanclap.data.load_categories`; for 374 of RELATE's 1,986 clips a strict subset
        of the labels' categories). ``False``: none. A path: that table (XACLE layout;
        required, every clip covered).
    drop_anchors : bool
        Keyword only. With ``screened``, also drop anchor rows that the REL file labels with a
        split (see module doc). ``False`` gives the README's 17,774 REL rows.
    verify : {"auto", True, False}
        Keyword only. Check the sha256 of the files read against :data:`RELATE_FILES`.
        ``"auto"``: only when the files come from the cache (a download is checked anyway);
        folders given by argument or ``$HUMANCLAP_RELATE_DIR`` may hold other data (e.g. a
        synthetic world) and are not checked.
    download : bool
        Keyword only. Allow downloading missing files into the cache.

    Returns
    -------
    pandas.DataFrame
        Shape ``(num_ratings, 9)`` or ``(num_ratings, 11)`` with categories. Columns:
        ``wavname`` (str), ``text`` (str), ``score`` (int64, 0..10), ``listener_id`` (str,
        leading zeros kept), ``source`` (one of :data:`SOURCES`), ``split``, ``anchor`` (bool),
        ``audiocap_id`` (int64), ``audiocaps_split`` ("train"/"test", from the wav folder)
        [, ``categories``, ``category``]. ``df.attrs`` holds ``aspect``, ``root``, ``screened``,
        ``screening`` (counts of removed rows, see :func:`screening_summary`; ``None`` when not
        screened), ``split_rule`` (IS/OS: rows per split rule; ``None`` for REL),
        ``categories`` (the table used, or ``None``) and ``categories_missing_rows``.

    Raises
    ------
    RelateDataError
        Missing files, unreadable file, missing column, bad ``wavname`` / ``score`` /
        ``anchor label`` / ``in RELATE dataset`` value (naming file, row and column), checksum
        mismatch, or (``categories=True``) a missing or incomplete category table.
    """
    ratings, resolved, rule, origin = load_all_rows(root, aspect, verify, download)
    ratings, screening = _screen(ratings, aspect, screened, drop_anchors)
    ratings, categories_path, num_missing = _add_categories(
        ratings, categories, resolved, origin, download
    )
    ratings.attrs = {
        "aspect": aspect,
        "root": str(resolved),
        "screened": screened,
        "drop_anchors": drop_anchors,
        "screening": screening,
        "split_rule": rule,
        "categories": categories_path,
        "categories_missing_rows": num_missing,
    }
    return ratings
