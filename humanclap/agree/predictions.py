"""Reading a file of predictions and joining it to RELATE's pairs.

A predictions file is a CSV with one row per audio (or per audio--text pair) and a numeric
column of predictions. Its key column names the audio in any form that ends with RELATE's
``<source>/<split>/<id>.wav`` (e.g. XACLE's ``./datasets/data/wav/audiocaps/test/10176.wav`` for
RELATE's ``/audiocaps/test/10176.wav``). Without a text column, a row is matched to the pair of
its wav; a wav rated with two texts then needs a text column.

Nothing is dropped silently: :func:`join_predictions` returns the joined pairs and, beside
them, every pair of the split that has no prediction (``missing``) and every prediction that
matches no pair of the split (``extra``, each with the reason: another split, another text, or
a wav RELATE does not rate).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from humanclap.data.files import AUDIOCAPS_SPLITS, SOURCES

__all__ = ["JoinResult", "PredictionError", "join_predictions", "read_predictions", "wavname_of"]

PAIR_COLUMNS: list[str] = ["wavname", "text"]
_KEY_PATTERN = re.compile(
    r"(?:^|/)(?P<source>" + "|".join(SOURCES) + r")/(?P<split>" + "|".join(AUDIOCAPS_SPLITS)
    + r")/(?P<name>[^/]+\.wav)$"
)  # fmt: skip


class PredictionError(ValueError):
    """A predictions file or its join is unusable; the message names the file and the row."""


def _line_list(lines, limit: int = 10) -> str:
    """``"2, 5, 9"`` (the first ``limit`` CSV line numbers, then how many more)."""
    lines = [int(x) for x in lines]
    shown = ", ".join(str(x) for x in lines[:limit])
    return shown + (f" and {len(lines) - limit} more" if len(lines) > limit else "")


def wavname_of(key: str) -> str:
    """RELATE's wavname (``/<source>/<split>/<id>.wav``) at the end of a path ``key``.

    Raises
    ------
    ValueError
        ``key`` does not end with ``<source>/<train|test>/<name>.wav`` (``source`` one of
        :data:`humanclap.data.SOURCES`): a bare file name or a path without the source folder
        is ambiguous (it could be a clip of any source).
    """
    text = str(key).strip().replace("\\", "/")
    match = _KEY_PATTERN.search(text)
    if match is None:
        if text.lower().endswith(".wav"):
            why = "ambiguous: it does not end with <source>/<train|test>/<id>.wav"
        else:
            why = "unrecognisable: not a .wav path"
        raise ValueError(f"{why} (source one of {', '.join(SOURCES)})")
    return f"/{match['source']}/{match['split']}/{match['name']}"


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    """The CSV at ``path`` with ``columns`` read as text; empty cells stay empty strings."""
    if not path.is_file():
        raise PredictionError(f"{path}: no such predictions file")
    try:
        frame = pd.read_csv(path, dtype=dict.fromkeys(columns, str), keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise PredictionError(f"{path}: cannot read the CSV ({err})") from err
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PredictionError(
            f"{path}: no column {', '.join(repr(c) for c in missing)}; the columns are "
            f"{', '.join(repr(str(c)) for c in frame.columns)}"
        )
    return frame


#: Cells that mean "no prediction" (``--drop-missing``): empty, or NaN as pandas writes it.
MISSING_CELLS = frozenset({"", "nan", "NaN", "NA", "N/A", "null", "None"})


def _parse_predictions(path: Path, raw: pd.Series, pred_col: str, lines) -> np.ndarray:
    """``pred_col`` as floats, shape (n,); raise naming every non-finite cell."""
    text = raw.astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        first = bad[0]
        hint = ""
        if text.iloc[bad].isin(MISSING_CELLS).all():
            hint = (
                "; these rows have no prediction (e.g. clips `humanclap score` could not score):"
                " drop them with --drop-missing (drop_missing=True), and they are counted"
            )
        raise PredictionError(
            f"{path}: line {lines[first]}, column {pred_col!r}: not a finite number: "
            f"{raw.iloc[first]!r} ({len(bad)} such row(s), lines {_line_list(lines[bad])}){hint}"
        )
    return values


def _parse_keys(path: Path, keys: pd.Series, key_col: str, lines) -> list[str]:
    """RELATE wavnames of the ``key_col`` cells; raise naming the first bad line."""
    wavnames = []
    for line, key in zip(lines, keys, strict=True):
        try:
            wavnames.append(wavname_of(key))
        except ValueError as err:
            message = f"{path}: line {line}, column {key_col!r}: {key!r} is {err}"
            raise PredictionError(message) from None
    return wavnames


def _check_duplicates(path: Path, frame: pd.DataFrame, key: list[str]) -> None:
    """Raise naming the CSV lines of the first key that occurs more than once."""
    dup = frame[frame.duplicated(key, keep=False)]
    if dup.empty:
        return
    first = dup.groupby(key, sort=False)["line"].apply(list).iloc[0]
    label = dup.iloc[0][key].tolist()
    n_keys = len(dup.drop_duplicates(key))
    raise PredictionError(
        f"{path}: duplicate key {label[0] if len(label) == 1 else tuple(label)!r} on lines "
        f"{_line_list(first)} ({n_keys} key(s) occur more than once; "
        f"{len(dup)} rows in all, lines {_line_list(dup['line'])})"
    )


def read_predictions(
    path: str | os.PathLike,
    pred_col: str,
    key_col: str = "wav_path",
    text_col: str | None = None,
    drop_missing: bool = False,
) -> pd.DataFrame:
    """Read and check a predictions file.

    Parameters
    ----------
    path : path-like
        CSV with a header row.
    pred_col : str
        Column of the predictions (finite numbers).
    key_col : str
        Column naming the audio: a path ending with ``<source>/<split>/<id>.wav``.
    text_col : str, optional
        Column of the text, when the predictions are per (wav, text) pair.
    drop_missing : bool
        Drop the rows whose prediction is missing (an empty cell, or NaN as pandas writes it:
        :data:`MISSING_CELLS`), e.g. the clips ``humanclap score`` could not score; their lines
        are kept in ``attrs["dropped_lines"]`` and reported. Other non-numbers stay errors.

    Returns
    -------
    pd.DataFrame
        Shape (n_rows, 4 or 5): ``wavname`` (RELATE's), [``text``], ``pred`` (float),
        ``key`` (the cell as written) and ``line`` (the CSV line, the header being line 1).
        ``attrs``: ``path``, ``pred_col``, ``key_col``, ``text_col``, ``dropped_lines`` (the
        lines dropped by ``drop_missing``).

    Raises
    ------
    PredictionError
        Naming the file: it is missing or unreadable; a column is missing (with the columns
        present); a prediction is not a finite number, a key is not a RELATE wav path or a
        text is empty (with the line and the value); a key occurs twice (with the lines).
    """
    path = Path(path)
    text_cols = [key_col] + ([text_col] if text_col else [])
    frame = _read_csv(path, [pred_col, *text_cols])
    if frame.empty:
        raise PredictionError(f"{path}: no data rows")
    frame["__line"] = np.arange(2, len(frame) + 2)
    dropped: list[int] = []
    if drop_missing:
        gone = frame[pred_col].astype(str).str.strip().isin(MISSING_CELLS).to_numpy()
        dropped, frame = frame.loc[gone, "__line"].tolist(), frame[~gone].reset_index(drop=True)
        if frame.empty:
            raise PredictionError(f"{path}: no row has a prediction in {pred_col!r}")
    lines = frame["__line"].to_numpy()
    out = pd.DataFrame({"wavname": _parse_keys(path, frame[key_col], key_col, lines)})
    if text_col:
        out["text"] = frame[text_col].astype(str).to_numpy()
        empty = np.flatnonzero(out["text"].str.strip() == "")
        if len(empty):
            raise PredictionError(
                f"{path}: line {lines[empty[0]]}, column {text_col!r}: empty text "
                f"({len(empty)} such row(s), lines {_line_list(lines[empty])})"
            )
    out["pred"] = _parse_predictions(path, frame[pred_col], pred_col, lines)
    out["key"] = frame[key_col].to_numpy()
    out["line"] = lines
    _check_duplicates(path, out, ["wavname", "text"] if text_col else ["wavname"])
    out.attrs = {"path": str(path), "pred_col": pred_col, "key_col": key_col,
                 "text_col": text_col, "dropped_lines": dropped}  # fmt: skip
    return out


@dataclass
class JoinResult:
    """Predictions joined to the pairs of a split.

    Attributes
    ----------
    joined : pd.DataFrame
        One row per pair of the split with a prediction: the pair table's columns and the
        prediction column, shape (n_joined, k + 1), sorted by (wavname, text).
    missing : pd.DataFrame
        Pairs of the split without a prediction: ``wavname``, ``text``, ``source``.
    extra : pd.DataFrame
        Prediction rows that match no pair of the split: ``line``, ``key``, ``wavname``,
        [``text``], ``reason`` (e.g. ``"a pair of the validation split"``).
    split : str
        The split (``"all"``: every pair).
    n_pairs : int
        Pairs of the split.
    n_predictions : int
        Rows of the predictions.
    path : str
        The predictions file (``""`` when not from a file).
    dropped : tuple of int
        Lines of the file dropped for a missing prediction (``drop_missing``).
    key_col : str
        The file's key column (``""`` when not from a file).
    """

    joined: pd.DataFrame
    missing: pd.DataFrame
    extra: pd.DataFrame
    split: str
    n_pairs: int
    n_predictions: int
    path: str = ""
    dropped: tuple[int, ...] = ()
    key_col: str = ""

    @property
    def where(self) -> str:
        """``"the test split"`` or ``"every split"``."""
        return "every split" if self.split == "all" else f"the {self.split} split"

    def summary(self, limit: int = 5) -> list[str]:
        """Lines saying what joined, then the missing and extra pairs with ``limit`` examples."""
        lines = [
            f"{self.path or 'predictions'}: {self.n_predictions} prediction(s); "
            f"{len(self.joined)} of the {self.n_pairs} pairs of {self.where} joined"
            + (f" (key column {self.key_col!r})" if self.key_col else "")
        ]
        if self.dropped:
            lines.append(
                f"  {len(self.dropped)} row(s) without a prediction dropped (--drop-missing): "
                f"lines {_line_list(self.dropped)}"
            )
        if len(self.missing):
            lines.append(f"  {len(self.missing)} pair(s) of {self.where} have no prediction:")
            lines += [
                f"    {row.wavname} {row.text!r}" for row in self.missing.head(limit).itertuples()
            ]
        if len(self.extra):
            counts = self.extra["reason"].value_counts()
            lines.append(
                f"  {len(self.extra)} prediction(s) match no pair of {self.where} ("
                + "; ".join(f"{n} {reason}" for reason, n in counts.items())
                + "):"
            )
            lines += [
                f"    line {row.line}: {row.key} ({row.reason})"
                for row in self.extra.head(limit).itertuples()
            ]
        if len(self.missing) > limit or len(self.extra) > limit:
            lines.append(f"  (at most {limit} of each listed here; all in the report)")
        return lines


def _split_pairs(pairs: pd.DataFrame, split: str) -> pd.DataFrame:
    """The pairs of ``split`` (all of them for ``"all"``); raise when there are none."""
    missing = [c for c in [*PAIR_COLUMNS, "split", "source"] if c not in pairs.columns]
    if missing:
        raise PredictionError(f"pairs: missing column(s) {missing}; has {list(pairs.columns)}")
    if split == "all":
        return pairs
    chosen = pairs[pairs["split"] == split]
    if chosen.empty:
        present = sorted(pairs["split"].astype(str).unique())
        raise PredictionError(f"no pair is in split {split!r}; the splits are {present}")
    return chosen


def _check_one_text_per_wav(in_split: pd.DataFrame, where: str) -> None:
    """Raise when a wav of ``in_split`` is rated with two texts (a key without text is ambiguous)."""
    texts = in_split.groupby("wavname")["text"].agg(list)
    several = texts[texts.str.len() > 1]
    if len(several):
        shown = "; ".join(f"{w}: {t}" for w, t in several.head(5).items())
        raise PredictionError(
            f"{len(several)} wav(s) of {where} are rated with more than one text, so "
            f"predictions keyed by wav alone are ambiguous; give a text column "
            f"(--text-col): {shown}"
        )


def _extra_reasons(extra: pd.DataFrame, pairs: pd.DataFrame, in_split: pd.DataFrame) -> list[str]:
    """Why each row of ``extra`` (predictions that match no pair of the split) matches none."""
    split_of_pair = pairs.set_index(PAIR_COLUMNS)["split"]
    split_of_wav = pairs.groupby("wavname")["split"].first()
    wavs_in_split = set(in_split["wavname"])
    reasons = []
    for row in extra.itertuples():
        text = getattr(row, "text", None)
        if text is not None and (row.wavname, text) in split_of_pair.index:
            reasons.append(f"a pair of the {split_of_pair[(row.wavname, text)]} split")
        elif text is not None and row.wavname in wavs_in_split:
            reasons.append("a text not rated with this wav")
        elif row.wavname in split_of_wav.index:
            reasons.append(f"a wav of the {split_of_wav[row.wavname]} split")
        else:
            reasons.append("a wav RELATE does not rate")
    return reasons


def join_predictions(
    predictions: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    split: str = "test",
    name: str = "pred",
) -> JoinResult:
    """Join predictions to the pairs of ``split``.

    Parameters
    ----------
    predictions : pd.DataFrame
        :func:`read_predictions`'s table (``wavname``, [``text``], ``pred``, ``key``, ``line``;
        ``key`` and ``line`` are optional). With ``text`` the key is the pair (wavname, text),
        else the wavname.
    pairs : pd.DataFrame
        :func:`humanclap.data.pair_table` of every split (the other splits name the reason of
        an extra prediction).
    split : str
        ``"train"``, ``"validation"``, ``"test"`` or ``"all"``.
    name : str
        Name of the prediction column in ``joined``.

    Returns
    -------
    JoinResult

    Raises
    ------
    PredictionError
        No pair is in ``split``; ``name`` is a column of ``pairs``; a key occurs twice (with
        the lines); the predictions have no text and a wav of the split is rated with two
        texts (naming the wavs); nothing joins (with the reasons, e.g. another split).
    """
    attrs = dict(predictions.attrs)
    path = str(attrs.get("path", ""))
    in_split = _split_pairs(pairs, split)
    if name in pairs.columns:
        raise PredictionError(f"name: {name!r} is already a column of the pairs")
    where = "every split" if split == "all" else f"the {split} split"
    key = PAIR_COLUMNS if "text" in predictions.columns else ["wavname"]
    if "line" not in predictions.columns:  # a table not read by read_predictions
        predictions = predictions.assign(line=np.arange(2, len(predictions) + 2))
    if "key" not in predictions.columns:
        predictions = predictions.assign(key=predictions["wavname"])
    _check_duplicates(Path(path or "predictions"), predictions, key)
    if key == ["wavname"]:
        _check_one_text_per_wav(in_split, where)
    preds = predictions[[*key, "pred"]].rename(columns={"pred": name})
    joined = in_split.merge(preds, on=key, how="inner", validate="one_to_one")
    joined = joined.sort_values(PAIR_COLUMNS, ignore_index=True)
    found = in_split[key].merge(preds[key], on=key, how="left", indicator=True)["_merge"]
    missing = in_split.loc[(found == "left_only").to_numpy(), ["wavname", "text", "source"]]
    rated = predictions[key].merge(in_split[key], on=key, how="left", indicator=True)["_merge"]
    extra = predictions.loc[(rated == "left_only").to_numpy()].drop(columns="pred")
    extra = extra.assign(reason=_extra_reasons(extra, pairs, in_split)).reset_index(drop=True)
    extra = extra[["line", "key", *key, "reason"]]
    result = JoinResult(
        joined=joined,
        missing=missing.sort_values(PAIR_COLUMNS, ignore_index=True),
        extra=extra,
        split=split,
        n_pairs=len(in_split),
        n_predictions=len(predictions),
        path=path,
        dropped=tuple(int(x) for x in attrs.get("dropped_lines", ())),
        key_col=str(attrs.get("key_col") or ""),
    )
    if joined.empty:
        splits = set(extra["reason"].str.extract(r"of the (\w+) split", expand=False))
        hint = f"; the predictions are for the {splits.pop()} split" if len(splits) == 1 else ""
        raise PredictionError(f"nothing joins{hint}: " + "\n".join(result.summary()))
    return result
