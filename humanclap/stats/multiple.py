"""Multiple-comparison adjustment of p-values (Holm-Bonferroni)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def holm(p_values: npt.ArrayLike) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN), shape (m,).

    Parameters
    ----------
    p_values : array-like, shape (m,)
        Unadjusted p-values; NaN entries (e.g. a reference row with no test) are left out of
        the family and stay NaN.

    Returns
    -------
    np.ndarray, shape (m,)
        Adjusted p-values in the input order: the ``r``-th smallest of the ``m'`` finite values
        becomes ``max_{j <= r} min(1, (m' - j + 1) p_(j))`` (ties keep their input order).
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out
