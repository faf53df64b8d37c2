"""Input validation and the table conventions shared by the :mod:`humanclap.stats` modules.

Two kinds of input reach the statistics: score vectors, one value per audio--text pair (the
agreement metrics), and long rating tables, one row per rating with a score column, the pair
key (``PAIR``) and ``listener_id`` (reliability, listeners, mixed models, effects). The checks
raise ``ValueError`` (``TypeError`` for a non-DataFrame) naming the offending parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence

import numpy as np
import pandas as pd

#: Columns that identify a rated item (an audio--text pair) in a long rating table.
PAIR: tuple[str, str] = ("wavname", "text")


# ----------------------------------------------------------------------------- scalars
def _check_positive_int(value, name: str) -> None:
    """Raise ValueError unless ``value`` is an integer >= 1 (``n_boot``, ``n_splits``)."""
    if int(value) != value or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


def _check_ci(ci: float) -> None:
    """Raise ValueError unless ``ci`` is an interval level in (0, 1)."""
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci: expected a level in (0, 1), got {ci!r}")


def _check_boot_args(n_boot: int, ci: float) -> None:
    """Raise ValueError unless ``n_boot`` is a positive integer and ``ci`` is in (0, 1)."""
    _check_positive_int(n_boot, "n_boot")
    _check_ci(ci)


# ----------------------------------------------------------------------------- score vectors
def _as_vector(x, name: str) -> np.ndarray:
    """Return ``x`` as a float array of shape (n,); raise ValueError naming ``name``."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: cannot convert to a float array ({err})") from err
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected shape (n,), got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.flatnonzero(bad)
        shown = ", ".join(str(i) for i in where[:10]) + (", ..." if len(where) > 10 else "")
        raise ValueError(
            f"{name}: {len(where)} of {len(arr)} values are NaN or infinite (positions {shown})"
        )
    return arr


def _check_inputs(
    pred,
    target,
    *,
    need_variation: bool = True,
    pred_name: str = "pred",
    target_name: str = "target",
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of score vectors; return them as float arrays of shape (n,)."""
    p = _as_vector(pred, pred_name)
    h = _as_vector(target, target_name)
    if len(p) != len(h):
        raise ValueError(f"{pred_name} has {len(p)} values but {target_name} has {len(h)}")
    if len(p) < 3:
        raise ValueError(f"{pred_name}/{target_name}: need at least 3 pairs, got {len(p)}")
    if need_variation:
        for arr, name in ((p, pred_name), (h, target_name)):
            if np.all(arr == arr[0]):
                raise ValueError(
                    f"{name}: all {len(arr)} values equal {arr[0]!r}; correlation is undefined"
                )
    return p, h


# ----------------------------------------------------------------------------- rating tables
def _check_ratings(ratings: pd.DataFrame, score: str, keys: Sequence[str]) -> np.ndarray:
    """Check ``ratings`` has ``score`` (finite numbers) and ``keys`` (no missing values).

    Returns the scores as a float array of shape (n_ratings,).
    """
    if not isinstance(ratings, pd.DataFrame):
        raise TypeError(f"ratings: expected a pandas DataFrame, got {type(ratings).__name__}")
    missing = [c for c in [score, *keys] if c not in ratings.columns]
    if missing:
        raise ValueError(f"ratings: missing column(s) {missing}; has {list(ratings.columns)}")
    if len(ratings) == 0:
        raise ValueError("ratings: no rows")
    try:
        y = pd.to_numeric(ratings[score], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"ratings[{score!r}]: not numeric ({err})") from err
    bad = ~np.isfinite(y)
    if bad.any():
        rows = list(ratings.index[bad][:10])
        raise ValueError(f"ratings[{score!r}]: {bad.sum()} NaN/inf value(s), rows {rows}")
    for col in keys:
        na = ratings[col].isna().to_numpy()
        if na.any():
            raise ValueError(
                f"ratings[{col!r}]: {na.sum()} missing value(s), "
                f"rows {list(ratings.index[na][:10])}"
            )
    return y


def _pair_codes(ratings: pd.DataFrame, pair: Sequence[str]) -> np.ndarray:
    """Integer code 0..n_pairs-1 of each rating's pair, shape (n_ratings,)."""
    return ratings.groupby(list(pair), sort=False).ngroup().to_numpy()


def _by_columns(ratings: pd.DataFrame, by: str | Sequence[str]) -> list[str]:
    """``by`` as a list of column names, each present in ``ratings``."""
    by_cols = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by_cols if c not in ratings.columns]
    if missing:
        raise ValueError(f"ratings: missing grouping column(s) {missing}")
    return by_cols


def _iter_groups(
    df: pd.DataFrame, by_cols: list[str]
) -> Iterator[tuple[tuple[Hashable, ...], dict[str, Hashable], pd.DataFrame]]:
    """Groups of ``df`` by ``by_cols``, sorted, missing labels kept as their own group.

    Yields
    ------
    key : tuple, shape (len(by_cols),)
        The group's labels.
    labels : dict
        ``{column: label}`` for the ``by_cols``, in their order.
    sub : pd.DataFrame
        The group's rows.
    """
    for key, sub in df.groupby(by_cols, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        yield key, dict(zip(by_cols, key, strict=True)), sub


def _apply_by(
    ratings: pd.DataFrame, by: str | Sequence[str], fn: Callable[..., dict], **kw
) -> pd.DataFrame:
    """``fn(group_ratings, **kw)`` (a dict) for each group of ``ratings`` by ``by``.

    Returns
    -------
    pd.DataFrame
        One row per group: the ``by`` column(s), ``fn``'s keys and ``note`` (the message of a
        ValueError ``fn`` raised for a group too small for it; its values are then NaN, and
        ``n_ratings`` is the group's size: nothing is dropped).
    """
    rows = []
    for _, labels, sub in _iter_groups(ratings, _by_columns(ratings, by)):
        row: dict = dict(labels)
        try:
            row.update(fn(sub, **kw), note="")
        except ValueError as err:
            row.update(n_ratings=len(sub), note=str(err))
        rows.append(row)
    return pd.DataFrame(rows)
