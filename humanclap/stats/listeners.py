"""Listener effects: how severe and how consistent each listener is against the others.

Inputs are long rating tables, one row per rating, with a score column (``score``), the pair
key (``wavname``, ``text``) and ``listener_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from humanclap.stats._checks import PAIR, _check_ratings, _pair_codes


def listener_bias(
    ratings: pd.DataFrame,
    score: str = "score",
    pair: Sequence[str] = PAIR,
    listener: str = "listener_id",
) -> pd.DataFrame:
    """Per-listener severity and consistency against the other raters of the same pairs.

    Each rating ``y`` of pair ``i`` is compared with the leave-one-out mean of the OTHER
    ratings of that pair, ``m = (sum_i - y) / (n_i - 1)``; ratings of pairs nobody else
    rated have no reference and are only counted in ``n_ratings``. Leaving the listener's own
    rating out avoids shrinking the deviation towards 0 (with the full mean, a lone
    dissenter among 2 raters would be credited with half of their own deviation). A listener
    rating the same pair twice would be compared partly with themselves; RELATE has no such
    duplicates.

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table with ``score``, the ``pair`` columns and ``listener``.

    Returns
    -------
    pd.DataFrame
        Indexed by listener, sorted by id: ``n_ratings``, ``n_used`` (ratings with at least
        one other rater), ``mean_score``, ``mean_dev`` (mean of ``y - m``: positive means the
        listener rates higher than the others), ``se_dev`` (sd / sqrt(n_used), NaN if
        n_used < 2), ``z_dev`` = mean_dev / se_dev, and ``r_others`` (Pearson correlation of
        the listener's scores with ``m``; NaN when n_used < 3 or either side is constant).
    """
    y = _check_ratings(ratings, score, [*pair, listener])
    codes = _pair_codes(ratings, pair)
    n_i = np.bincount(codes)[codes]
    sums = np.bincount(codes, weights=y)[codes]
    used = n_i >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        others = np.where(used, (sums - y) / np.maximum(n_i - 1, 1), np.nan)
    dev = y - others
    u = used.astype(float)
    x0, m0 = np.where(used, y, 0.0), np.where(used, others, 0.0)
    frame = pd.DataFrame(
        {
            "listener": ratings[listener].to_numpy(),
            "y": y,
            "u": u,
            "d": np.where(used, dev, 0.0),
            "d2": np.where(used, dev, 0.0) ** 2,
            "x": x0,
            "m": m0,
            "xx": x0 * x0,
            "mm": m0 * m0,
            "xm": x0 * m0,
        }
    )
    g = frame.groupby("listener", sort=True)
    s = g[["u", "d", "d2", "x", "m", "xx", "mm", "xm"]].sum()
    out = pd.DataFrame(index=s.index)
    out.index.name = listener
    out["n_ratings"] = g.size()
    out["n_used"] = s["u"].astype(int)
    out["mean_score"] = g["y"].mean()
    n = s["u"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_dev = np.where(n > 0, s["d"] / n, np.nan)
        var_dev = (s["d2"] - n * mean_dev**2) / (n - 1)
        se = np.where(n >= 2, np.sqrt(np.maximum(var_dev, 0.0) / n), np.nan)
        sxx = s["xx"] - s["x"] ** 2 / n
        smm = s["mm"] - s["m"] ** 2 / n
        sxm = s["xm"] - s["x"] * s["m"] / n
        # Tolerance: sums of squares below this are rounding noise of a constant column.
        tol = 1e-9 * np.maximum(s["xx"] + s["mm"], 1.0)
        ok = (n >= 3) & (sxx > tol) & (smm > tol)
        r = np.where(ok, sxm / np.sqrt(np.where(ok, sxx * smm, 1.0)), np.nan)
        out["mean_dev"] = mean_dev
        out["se_dev"] = se
        out["z_dev"] = np.where(se > 0, mean_dev / se, np.nan)
    out["r_others"] = np.clip(r, -1.0, 1.0)
    return out
