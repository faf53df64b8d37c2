"""The RELATE ratings (Kanamori et al., Interspeech 2025): locate, read, validate, screen.

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
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from humanclap.utils import (
    ChecksumError,
    DownloadError,
    download,
    sha256_file,
    user_cache_dir,
)

__all__ = [
    "ASPECTS",
    "RELATE_BASE_URL",
    "RELATE_COMMIT",
    "RELATE_FILES",
    "SOURCES",
    "SPLITS",
    "RelateDataError",
    "explode_categories",
    "load_relate",
    "pair_table",
    "relate_cache_dir",
    "resolve_relate_root",
    "screening_summary",
]

RELATE_COMMIT = "05935d968f7c4029b8a235b82425c4d2919faf69"
RELATE_BASE_URL = f"https://raw.githubusercontent.com/sarulab-speech/RELATE/{RELATE_COMMIT}"
#: Relative path -> sha256 of the five RELATE files at :data:`RELATE_COMMIT`.
RELATE_FILES: dict[str, str] = {
    "scores/REL.csv": "cea68d02735ac13a5cc3a05fafb4bc07a0342815c6a75fbf64284e39271c5dcd",
    "scores/IS.csv": "ef1e724be33ead60e54c797f9c52805eac7f7870a46760c855634d3a19597be4",
    "scores/OS.csv": "fce6baeb0a52a44e956d07a05114a5ff24d1bc95b6fadb334b639777ca565197",
    "listener_attributes/REL.csv": "6b707d29244ae7ec872dc0e61328719d64bda96b0744043b0089b371619d6f12",
    "listener_attributes/IS_and_OS.csv": "7e0c73614b02c197627c8980b26056e437116e37881b7ca6cc49f8271ea507a0",
}
ASPECTS: tuple[str, ...] = ("REL", "IS", "OS")
#: The five audio sources: the first folder of ``wavname``.
SOURCES: tuple[str, ...] = ("audiocaps", "audioldm", "audioldm2", "tango", "tango2")
#: RELATE's splits of the screened data.
SPLITS: tuple[str, ...] = ("train", "validation", "test")
AUDIOCAPS_SPLITS: tuple[str, ...] = ("train", "test")

ENV_RELATE_DIR = "HUMANCLAP_RELATE_DIR"
ENV_RELATE_URL = "HUMANCLAP_RELATE_URL"

_REL_SPLIT_VALUES = (*SPLITS, "excluded")
_BASE_COLUMNS = ("wavname", "text", "score", "listener_id", "anchor label")
_COLUMNS = {
    "REL": (*_BASE_COLUMNS, "in RELATE dataset"),
    "IS": _BASE_COLUMNS,
    "OS": _BASE_COLUMNS,
}
_OUTPUT_COLUMNS = [
    "wavname",
    "text",
    "score",
    "listener_id",
    "source",
    "split",
    "anchor",
    "audiocap_id",
    "audiocaps_split",
]
_WAVNAME_PATTERN = r"^/([^/]+)/([^/]+)/(\d+)\.wav$"


class RelateDataError(ValueError):
    """RELATE data missing, unreadable or malformed; the message names file and row/column."""


# ----------------------------------------------------------------------------- low-level I/O
def row_error(
    path: str | os.PathLike, index: int, column: str, value: object, problem: str, count: int = 1
) -> RelateDataError:
    """Build an error naming ``path``, the 1-based data row ``index + 1`` and ``column``.

    The CSV line is ``index + 2`` (line 1 is the header; no RELATE field spans lines).
    """
    message = (
        f"{path}: data row {index + 1} (CSV line {index + 2}), column {column!r}: "
        f"{problem}; value {value!r}"
    )
    if count > 1:
        message += f" ({count} rows in all have this problem)"
    return RelateDataError(message)


def read_csv_checked(path: str | os.PathLike) -> pd.DataFrame:
    """Read a UTF-8 CSV with every cell as a string (``""`` for empty, no NaN guessing).

    Raises
    ------
    RelateDataError
        The file cannot be opened, holds binary data or is not a parsable UTF-8 CSV.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError as err:
        raise RelateDataError(f"cannot read {path}: {err.strerror or err}") from err
    if b"\x00" in head:
        raise RelateDataError(f"{path} is not a text CSV file (it contains NUL bytes)")
    try:
        with warnings.catch_warnings():
            # more fields in a row than in the header: an error, not a silent shift into the index
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding="utf-8-sig",
                index_col=False,
            )
    except (
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.ParserWarning,
        pd.errors.EmptyDataError,
    ) as err:
        raise RelateDataError(f"cannot read {path} as a UTF-8 CSV file: {err}") from err


# ---------------------------------------------------------------------------- root resolution
def relate_cache_dir() -> Path:
    """The cache folder for the downloaded RELATE files: ``<cache>/relate/05935d9``."""
    return user_cache_dir() / "relate" / RELATE_COMMIT[:7]


def _base_url() -> str:
    return (os.environ.get(ENV_RELATE_URL) or RELATE_BASE_URL).rstrip("/")


def _needed_files(aspect: str) -> list[str]:
    """Files :func:`load_relate` reads for ``aspect`` (IS/OS also need REL for their split)."""
    _check_aspect(aspect)
    return list(dict.fromkeys(["scores/REL.csv", f"scores/{aspect}.csv"]))


def _missing(root: Path, files: list[str]) -> list[str]:
    return [f for f in files if not (root / f).is_file()]


def _placement(root: Path, files: list[str]) -> str:
    base = _base_url()
    return "\n".join(f"  {root / f}   <- {base}/{f}" for f in files)


def _check_aspect(aspect: str) -> None:
    if aspect not in ASPECTS:
        raise ValueError(f"aspect must be one of {ASPECTS}, got {aspect!r}")


def _resolve(
    root: str | os.PathLike | None, download_missing: bool, aspect: str
) -> tuple[Path, str]:
    """Return ``(root, origin)`` with origin in {"argument", "env", "cache", "download"}."""
    needed = _needed_files(aspect)
    given = [(root, "argument 'root'")] if root is not None else []
    if root is None and os.environ.get(ENV_RELATE_DIR):
        given = [(os.environ[ENV_RELATE_DIR], f"${ENV_RELATE_DIR}")]
    for value, where in given:
        path = Path(value).expanduser()
        missing = _missing(path, needed)
        if missing:
            raise RelateDataError(
                f"RELATE files missing in {path} (from {where}): {', '.join(missing)}. "
                f"Put them there (files of sarulab-speech/RELATE, commit {RELATE_COMMIT[:7]}):\n"
                + _placement(path, missing)
            )
        return path, "argument" if where.startswith("argument") else "env"

    cache = relate_cache_dir()
    if not _missing(cache, needed):
        return cache, "cache"
    if download_missing:
        try:
            for rel_path in _missing(cache, list(RELATE_FILES)):
                download(
                    f"{_base_url()}/{rel_path}", cache / rel_path, sha256=RELATE_FILES[rel_path]
                )
        except ChecksumError as err:
            raise RelateDataError(f"RELATE download failed its checksum: {err}") from err
        except DownloadError as err:
            raise RelateDataError(
                _not_found_message(cache, needed, f"The download failed: {err}")
            ) from err
        return cache, "download"
    raise RelateDataError(_not_found_message(cache, needed, "Downloading was not allowed."))


def _not_found_message(cache: Path, needed: list[str], why: str) -> str:
    return (
        f"RELATE rating files not found. {why}\n"
        f"Either place the files (from sarulab-speech/RELATE, commit {RELATE_COMMIT[:7]}) "
        f"in the cache folder {cache}:\n{_placement(cache, needed)}\n"
        f"or set ${ENV_RELATE_DIR} to a folder holding {', '.join(needed)}."
    )


def resolve_relate_root(
    root: str | os.PathLike | None = None, download: bool = True, aspect: str = "REL"
) -> Path:
    """Find the folder holding the RELATE files, downloading them if needed.

    Order: 1) ``root``; 2) ``$HUMANCLAP_RELATE_DIR``; 3) the cache folder
    :func:`relate_cache_dir` (``$HUMANCLAP_CACHE``, else ``$XDG_CACHE_HOME/humanclap``, else
    ``~/.cache/humanclap``, then ``relate/05935d9``); 4) when ``download``, fetch the five files
    into the cache, each checked against :data:`RELATE_FILES` (base URL overridable with
    ``$HUMANCLAP_RELATE_URL``). A folder is valid when it holds ``scores/REL.csv`` and
    ``scores/<aspect>.csv``.

    Raises
    ------
    RelateDataError
        A given folder lacks files (the message lists which files go where), or nothing is
        found and the download is impossible (offline, ``$HUMANCLAP_OFFLINE``, ``download=False``):
        the message lists the files, the cache folder and ``$HUMANCLAP_RELATE_DIR``.
    """
    return _resolve(root, download, aspect)[0]


def _verify(root: Path, files: list[str]) -> None:
    for rel_path in files:
        expected = RELATE_FILES.get(rel_path)
        if expected is None:
            continue
        got = sha256_file(root / rel_path)
        if got != expected:
            raise RelateDataError(
                f"{root / rel_path}: sha256 {got} differs from the expected {expected} of "
                f"RELATE {rel_path} at commit {RELATE_COMMIT[:7]}. In the download cache, delete "
                "the file to download it again; otherwise pass verify=False to use it as it is."
            )


# -------------------------------------------------------------------------------- parsing
def _first(mask: pd.Series) -> tuple[int, int]:
    """Position of the first True in ``mask`` and the number of True values."""
    positions = np.flatnonzero(mask.to_numpy(dtype=bool))
    return int(positions[0]), len(positions)


def _parse_ratings(raw: pd.DataFrame, path: Path, aspect: str) -> pd.DataFrame:
    """Validate one scores file and return the typed columns (no screening)."""
    required = _COLUMNS[aspect]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise RelateDataError(
            f"{path}: missing column(s) {missing}; found columns {list(raw.columns)}; "
            f"required for {aspect}: {list(required)}"
        )
    raw = raw.reset_index(drop=True)

    def fail(mask: pd.Series, column: str, problem: str, detail: pd.Series | None = None) -> None:
        if mask.any():
            i, n = _first(mask)
            if detail is not None:
                problem = f"{problem} {detail.iloc[i]!r}"
            raise row_error(path, i, column, raw[column].iloc[i], problem, n)

    parts = raw["wavname"].str.extract(_WAVNAME_PATTERN)
    fail(parts[0].isna(), "wavname", "not of the form /<source>/<train|test>/<audiocap_id>.wav")
    fail(
        ~parts[0].isin(SOURCES), "wavname", f"source must be one of {list(SOURCES)}, got", parts[0]
    )
    fail(
        ~parts[1].isin(AUDIOCAPS_SPLITS),
        "wavname",
        "second folder must be train/test, got",
        parts[1],
    )

    for column in ("text", "listener_id"):
        fail(raw[column].str.strip() == "", column, "empty")

    score_text = raw["score"].str.strip()
    fail(score_text == "", "score", "missing score (empty cell)")
    fail(~score_text.str.fullmatch(r"[+-]?\d+"), "score", "not an integer")
    score = score_text.astype("int64")
    fail((score < 0) | (score > 10), "score", "outside 0..10")

    anchor_text = raw["anchor label"].str.strip().str.lower()
    fail(~anchor_text.isin(["true", "false"]), "anchor label", "not True/False")

    ratings = pd.DataFrame(
        {
            "wavname": raw["wavname"],
            "text": raw["text"],
            "score": score,
            "listener_id": raw["listener_id"].str.strip(),
            "source": parts[0],
            "anchor": (anchor_text == "true").to_numpy(),
            "audiocap_id": parts[2].astype("int64"),
            "audiocaps_split": parts[1],
        }
    )
    if aspect == "REL":
        split = raw["in RELATE dataset"].str.strip()
        fail(~split.isin(_REL_SPLIT_VALUES), "in RELATE dataset", f"not one of {_REL_SPLIT_VALUES}")
        ratings["split"] = split
    return ratings


def _derive_split(ratings: pd.DataFrame, rel: pd.DataFrame) -> tuple[pd.Series, dict[str, int]]:
    """Split of IS/OS rows from the screened, non-anchor REL ratings (rule in module doc)."""
    kept = rel[~rel["anchor"] & rel["split"].isin(SPLITS)]

    def unique_map(keys: list[str]) -> pd.Series:
        table = kept.drop_duplicates([*keys, "split"])
        table = table[~table.duplicated(keys, keep=False)]  # keys with two splits: ambiguous
        return table.set_index(keys)["split"]

    pair_map = unique_map(["wavname", "text"])
    id_map = unique_map(["audiocap_id"])
    pair_key = pd.MultiIndex.from_frame(ratings[["wavname", "text"]])
    from_pair = pd.Series(pair_map.reindex(pair_key).to_numpy(), index=ratings.index)
    from_id = ratings["audiocap_id"].map(id_map)
    anchor = ratings["anchor"]
    split = from_pair.where(from_pair.notna(), from_id)
    split = split.where(split.notna(), "unassigned").where(~anchor, "excluded").astype(str)
    rule = {
        "anchor_rows": int(anchor.sum()),
        "rows_split_from_pair": int((~anchor & from_pair.notna()).sum()),
        "rows_split_from_audiocap_id": int((~anchor & from_pair.isna() & from_id.notna()).sum()),
        "rows_unassigned": int((~anchor & (split == "unassigned")).sum()),
        "rows_pair_and_audiocap_id_disagree": int(
            (~anchor & from_pair.notna() & from_id.notna() & (from_pair != from_id)).sum()
        ),
    }
    return split, rule


def _removal_reasons(ratings: pd.DataFrame, aspect: str, drop_anchors: bool) -> pd.Series:
    """Why screening removes each row: "" (kept), "anchor", "screened_listener", "unassigned"."""
    reason = pd.Series("", index=ratings.index, dtype=object)
    anchor = ratings["anchor"]
    if aspect == "REL":
        excluded = ratings["split"] == "excluded"
        reason[anchor & (excluded | drop_anchors)] = "anchor"
        reason[~anchor & excluded] = "screened_listener"
    else:
        reason[anchor] = "anchor"
        reason[~anchor & (ratings["split"] == "unassigned")] = "unassigned"
    return reason


def _screening_counts(ratings: pd.DataFrame, reason: pd.Series) -> dict[str, int]:
    kept = ratings[reason == ""]
    listeners_before = ratings["listener_id"].nunique()
    pairs = ratings[["wavname", "text"]]
    return {
        "rows_before": len(ratings),
        "rows_removed": int((reason != "").sum()),
        "anchors_removed": int((reason == "anchor").sum()),
        "anchors_kept": int(kept["anchor"].sum()),
        "screened_listener_rows_removed": int((reason == "screened_listener").sum()),
        "unassigned_rows_removed": int((reason == "unassigned").sum()),
        "rows_after": len(kept),
        "listeners_before": listeners_before,
        "listeners_removed": listeners_before - kept["listener_id"].nunique(),
        "listeners_after": kept["listener_id"].nunique(),
        "pairs_before": len(pairs.drop_duplicates()),
        "pairs_after": len(kept[["wavname", "text"]].drop_duplicates()),
    }


def _read_aspect(root: Path, aspect: str) -> pd.DataFrame:
    path = root / "scores" / f"{aspect}.csv"
    return _parse_ratings(read_csv_checked(path), path, aspect)


def _load_all(
    root: str | os.PathLike | None, aspect: str, verify: bool | Literal["auto"], download: bool
) -> tuple[pd.DataFrame, Path, dict[str, int] | None, str]:
    """All rows of ``aspect`` with their split; returns (ratings, root, split rule, origin)."""
    _check_aspect(aspect)
    resolved, origin = _resolve(root, download, aspect)
    if verify is True or (verify == "auto" and origin == "cache"):
        _verify(resolved, _needed_files(aspect))
    rel = _read_aspect(resolved, "REL")
    rule = None
    if aspect == "REL":
        ratings = rel
    else:
        ratings = _read_aspect(resolved, aspect)
        ratings["split"], rule = _derive_split(ratings, rel)
    return ratings[_OUTPUT_COLUMNS], resolved, rule, origin


def _add_categories(
    ratings: pd.DataFrame,
    categories: bool | Literal["auto"] | str | os.PathLike,
    root: Path,
    origin: str,
    download: bool,
) -> tuple[pd.DataFrame, str | None, int]:
    from humanclap.data.categories import load_categories  # categories imports this module

    if categories is False:
        return ratings, None, 0
    if isinstance(categories, (str, os.PathLike)) and categories != "auto":
        table = load_categories(path=categories)
        categories = True
    elif categories in (True, "auto"):
        table = load_categories(
            root=root,
            required=categories is True,
            # "auto" downloads only alongside RELATE files that are themselves managed.
            download=download and (categories is True or origin in ("cache", "download")),
        )
    else:
        raise ValueError(f"categories must be True, False, 'auto' or a path, got {categories!r}")
    if table is None:
        return ratings, None, 0
    names = ratings["audiocap_id"].map(table.set_index("audiocap_id")["categories"])
    num_missing = int(names.isna().sum())
    if num_missing and categories is True:
        missing_ids = sorted(ratings.loc[names.isna(), "audiocap_id"].unique())
        raise RelateDataError(
            f"{table.attrs['path']}: no categories for {len(missing_ids)} audiocap_id(s) used in "
            f"RELATE ({num_missing} rows), e.g. {missing_ids[:5]}"
        )
    names = names.fillna("").astype(str)
    ratings = ratings.assign(categories=names, category=names.str.split("|").str[0].astype(str))
    return ratings, table.attrs["path"], num_missing


# --------------------------------------------------------------------------------- public API
def load_relate(
    root: str | os.PathLike | None = None,
    aspect: str = "REL",
    screened: bool = True,
    categories: bool | Literal["auto"] | str | os.PathLike = "auto",
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
    categories : {"auto", True, False} or path-like
        Add ``categories`` (AudioSet top-level names joined by ``"|"``, ``""`` when the clip is
        not in the table) and ``category`` (the first name). ``"auto"``: use the table when
        found (:func:`humanclap.data.categories.find_categories`; downloaded only when the
        RELATE files themselves come from the cache), otherwise skip it silently;
        ``True``: required, and every clip must be covered; ``False``: skip; a path: read
        that table (required, every clip covered).
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
        ``categories`` (path of the table used, or ``None``) and ``categories_missing_rows``.

    Raises
    ------
    RelateDataError
        Missing files, unreadable file, missing column, bad ``wavname`` / ``score`` /
        ``anchor label`` / ``in RELATE dataset`` value (naming file, row and column), checksum
        mismatch, or (``categories=True``) a missing or incomplete category table.
    """
    ratings, resolved, rule, origin = _load_all(root, aspect, verify, download)
    screening = None
    if screened:
        reason = _removal_reasons(ratings, aspect, drop_anchors)
        screening = _screening_counts(ratings, reason)
        ratings = ratings[reason == ""]
    ratings = ratings.reset_index(drop=True)
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


def screening_summary(
    root: str | os.PathLike | None = None, aspect: str = "REL", *, drop_anchors: bool = True
) -> pd.DataFrame:
    """What ``load_relate(screened=True)`` removes, per source.

    Returns
    -------
    pandas.DataFrame
        Index: the five :data:`SOURCES` then ``"all"``; columns as in
        ``load_relate(...).attrs["screening"]``: ``rows_before``, ``rows_removed``,
        ``anchors_removed``, ``anchors_kept``, ``screened_listener_rows_removed`` (REL:
        non-anchor rows labelled ``excluded``), ``unassigned_rows_removed`` (IS/OS: no
        derivable split), ``rows_after``, ``listeners_before``, ``listeners_removed``,
        ``listeners_after`` (listeners who rated that source), ``pairs_before``, ``pairs_after``.
    """
    ratings, _, _, _ = _load_all(root, aspect, "auto", True)
    reason = _removal_reasons(ratings, aspect, drop_anchors)
    rows = {
        source: _screening_counts(
            ratings[ratings["source"] == source], reason[ratings["source"] == source]
        )
        for source in SOURCES
    }
    rows["all"] = _screening_counts(ratings, reason)
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index.name = "source"
    return summary


def pair_table(ratings: pd.DataFrame) -> pd.DataFrame:
    """Aggregate ratings to one row per (wavname, text) pair.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Output of :func:`load_relate` (at least ``wavname``, ``text``, ``score``, ``source``,
        ``split``, ``audiocap_id``), shape ``(num_ratings, k)``.

    Returns
    -------
    pandas.DataFrame
        Shape ``(num_pairs, m)``, sorted by (wavname, text): ``wavname``, ``text``, ``source``,
        ``split``, ``audiocap_id``, [``anchor``, ``audiocaps_split``, ``categories``,
        ``category`` when present], ``n_ratings``, ``mean_score`` (0..10), ``sd_score``
        (sample SD, ddof=1; NaN for a single rating), ``target`` (= mean_score / 10, in 0..1).

    Raises
    ------
    RelateDataError
        A column is missing, or a pair has more than one split / source / audiocap_id (e.g.
        unscreened REL, where a pair mixes ``excluded`` with a split).
    """
    required = ["wavname", "text", "score", "source", "split", "audiocap_id"]
    missing = [c for c in required if c not in ratings.columns]
    if missing:
        raise RelateDataError(f"pair_table: missing column(s) {missing} in ratings")
    constant = ["source", "split", "audiocap_id"] + [
        c for c in ("anchor", "audiocaps_split", "categories", "category") if c in ratings.columns
    ]
    groups = ratings.groupby(["wavname", "text"], sort=True)
    for column in constant:
        counts = groups[column].nunique(dropna=False)
        if (counts > 1).any():
            wavname, text = counts.index[counts > 1][0]
            values = sorted(
                map(
                    str,
                    ratings.loc[
                        (ratings["wavname"] == wavname) & (ratings["text"] == text), column
                    ].unique(),
                )
            )
            hint = " (screen the ratings first)" if column == "split" else ""
            raise RelateDataError(
                f"pair ({wavname!r}, {text!r}) has more than one {column}: {values}; "
                f"{int((counts > 1).sum())} pair(s) affected{hint}"
            )
    pairs = groups[constant].first()
    stats = groups["score"].agg(n_ratings="size", mean_score="mean", sd_score="std")
    pairs = pairs.join(stats).reset_index()
    pairs["target"] = pairs["mean_score"] / 10.0
    return pairs


def explode_categories(pairs: pd.DataFrame) -> pd.DataFrame:
    """One row per (pair, category) for by-category analyses.

    A pair whose clip has several categories appears once under each of them, so category
    groups overlap and their sizes sum to more than the number of pairs. Pairs without any
    category (``categories == ""``) are left out; their number is in
    ``df.attrs["pairs_without_category"]``.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Output of :func:`pair_table` (or of :func:`load_relate`) with a ``categories`` column,
        shape ``(num_pairs, k)``.

    Returns
    -------
    pandas.DataFrame
        Shape ``(num_pair_categories, k + 1)``: the input columns with ``category`` set to one
        name per row and ``n_categories`` (how many categories the pair has).
    """
    if "categories" not in pairs.columns:
        raise RelateDataError(
            "explode_categories: no 'categories' column (load the ratings with categories)"
        )
    has = pairs["categories"] != ""
    names = pairs.loc[has, "categories"].str.split("|")
    exploded = pairs[has].assign(category=names, n_categories=names.str.len()).explode("category")
    exploded = exploded.reset_index(drop=True)
    exploded["category"] = exploded["category"].astype(str)
    exploded.attrs = {**pairs.attrs, "pairs_without_category": int((~has).sum())}
    return exploded
