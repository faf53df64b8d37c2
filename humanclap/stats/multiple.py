"""Multiple-comparison adjustment of p-values: Holm (a planned family) and Benjamini-Hochberg
q-values (exploratory rankings over many groups), both through ``statsmodels``.

statsmodels' ``multipletests`` does not accept NaN; these wrappers leave NaN entries (a reference
row with no test, a group too small to test) out of the family and keep them NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from statsmodels.stats.multitest import multipletests


def _adjust(p_values: npt.ArrayLike, method: str) -> np.ndarray:
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"p_values must be one-dimensional, got shape {p.shape}")
    if np.any((p < 0) | (p > 1)):
        bad = int(np.flatnonzero((p < 0) | (p > 1))[0])
        raise ValueError(f"p_values[{bad}] = {p[bad]} is not a probability")
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


def holm(p_values: npt.ArrayLike) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN), shape (m,).

    Parameters
    ----------
    p_values : array-like, shape (m,)
        Unadjusted p-values of one planned family; NaN entries are left out of the family.

    Returns
    -------
    np.ndarray, shape (m,)
        Adjusted p-values in the input order (``statsmodels`` ``method="holm"``).
    """
    return _adjust(p_values, "holm")


def bh_qvalues(p_values: npt.ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg q-values (false-discovery-rate adjusted p-values), shape (m,).

    For rankings over many groups (event types, sources x types, many predictors), which read as
    exploratory: a group with ``q < 0.05`` is one of a set expected to hold at most 5% false
    discoveries under independence or positive dependence.

    Parameters
    ----------
    p_values : array-like, shape (m,)
        Unadjusted p-values; NaN entries are left out of the family and stay NaN.

    Returns
    -------
    np.ndarray, shape (m,)
        q-values in the input order (``statsmodels`` ``method="fdr_bh"``).
    """
    return _adjust(p_values, "fdr_bh")
