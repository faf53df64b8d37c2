"""Linear mixed models of the ratings with a random intercept per listener (statsmodels).

:func:`mixed_model` fits one, :func:`mixed_model_table` tabulates its fixed effects and variance
components, and :func:`cell_model` estimates the mean of a response (e.g. a model's calibrated
residual) in each cell of a cross-classification, adjusted for who rated it;
:func:`cell_gaps` compares each cell with the reference level's cell of the same column (e.g. a
system's rendering of an event type against the natural clips of that type), with Wald tests and
Benjamini-Hochberg q-values over all the gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from humanclap.stats._checks import PAIR, _check_ratings, _iter_groups
from humanclap.stats.multiple import bh_qvalues


def mixed_model(
    ratings: pd.DataFrame,
    formula: str = "score ~ C(source) + C(category)",
    group: str = "listener_id",
    re_formula: str | None = None,
    reml: bool = True,
    method: str | Sequence[str] = ("bfgs", "powell"),
    **fit_kw,
):
    """Linear mixed model of the ratings with a random intercept per listener.

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table with the columns the formula uses and ``group``.
    formula : str
        Patsy formula of the fixed effects.
    group : str
        Column of the random-effect groups (listeners).
    re_formula : str or None
        Random-effects formula; None is a random intercept only.
    reml : bool
        REML (default) or ML fit.
    method : str or list of str
        Optimiser(s) for :meth:`statsmodels.regression.mixed_linear_model.MixedLM.fit`; with a
        list, each is tried in turn (from the previous one's end point) until one converges.
        BFGS fits ~18k REL ratings of ~1,000 listeners in about 1.2 s (one core) and agrees
        with Powell and CG to 4 digits. L-BFGS is NOT used: on these models statsmodels'
        L-BFGS steps onto a singular random-effects covariance and either raises
        ``LinAlgError`` (REL ratings) or reports convergence at a zero listener variance and
        a zero intercept (simulated data in the tests).
    **fit_kw :
        Passed to ``MixedLM.fit``.

    Returns
    -------
    statsmodels.regression.mixed_linear_model.MixedLMResults
        Check ``result.converged``; convergence warnings are not silenced.

    Raises
    ------
    ValueError
        If ``group`` is missing or any used column has missing values (patsy would otherwise
        drop those rows silently; ``missing="raise"`` is passed to statsmodels).
    """
    import statsmodels.formula.api as smf  # lazy: ~0.6 s to import; only mixed models need it

    if group not in ratings.columns:
        raise ValueError(f"ratings: missing group column {group!r}")
    na = ratings[group].isna().to_numpy()
    if na.any():
        raise ValueError(
            f"ratings[{group!r}]: {na.sum()} missing value(s), rows {list(ratings.index[na][:10])}"
        )
    model = smf.mixedlm(
        formula, ratings, groups=ratings[group], re_formula=re_formula, missing="raise"
    )
    method = [method] if isinstance(method, str) else list(method)
    return model.fit(reml=reml, method=method, **fit_kw)


def mixed_model_table(result, ci: float = 0.95) -> pd.DataFrame:
    """Fixed effects and variance components of a :func:`mixed_model` fit.

    Parameters
    ----------
    result : MixedLMResults
        A fitted mixed model.
    ci : float
        Level of the Wald intervals of the fixed effects.

    Returns
    -------
    pd.DataFrame
        Indexed by ``term``; columns ``kind`` (``"fixed"`` or ``"variance"``), ``coef``,
        ``se``, ``z``, ``p``, ``ci_lo``, ``ci_hi``. Variance rows: one ``"<name> var"`` per
        random effect (the diagonal of ``cov_re``; for a random intercept ``"Group var"``),
        ``"Residual var"`` (``result.scale``) and ``"Group share"`` = group intercept variance /
        (that + residual variance), the share of the rating variance (net of fixed effects)
        due to listeners. Variance rows carry only ``coef`` (Wald SEs of variances are poor).
    """
    fe = result.fe_params
    names = list(fe.index)
    conf = result.conf_int(alpha=1.0 - ci).loc[names]
    bse = result.bse_fe.loc[names]
    table = pd.DataFrame(
        {
            "kind": "fixed",
            "coef": fe.to_numpy(),
            "se": bse.to_numpy(),
            "z": (fe / bse).to_numpy(),
            "p": result.pvalues.loc[names].to_numpy(),
            "ci_lo": conf.iloc[:, 0].to_numpy(),
            "ci_hi": conf.iloc[:, 1].to_numpy(),
        },
        index=pd.Index(names, name="term"),
    )
    cov_re = result.cov_re
    var_names = [f"{name} var" for name in cov_re.index]
    var_values = list(np.diag(cov_re.to_numpy()))
    resid = float(result.scale)
    var_names.append("Residual var")
    var_values.append(resid)
    group_var = float(cov_re.iloc[0, 0])
    var_names.append("Group share")
    var_values.append(group_var / (group_var + resid))
    variances = pd.DataFrame(
        {
            "kind": "variance",
            "coef": var_values,
            "se": np.nan,
            "z": np.nan,
            "p": np.nan,
            "ci_lo": np.nan,
            "ci_hi": np.nan,
        },
        index=pd.Index(var_names, name="term"),
    )
    return pd.concat([table, variances])


def cell_model(
    ratings: pd.DataFrame,
    cells: Sequence[str] = ("source", "category"),
    response: str = "residual",
    group: str = "listener_id",
    min_n: int = 20,
    ci: float = 0.95,
    **fit_kw,
) -> pd.DataFrame:
    """Mean ``response`` of each cell (e.g. source x category), with a listener random effect.

    Fits ``response ~ 0 + C(cell)`` by :func:`mixed_model` (random intercept per ``group``): the
    cell-means coding of the full interaction ``C(source) * C(category)``, which stays
    estimable when some combinations are rare or absent. Each coefficient is the cell's mean
    response adjusted for who rated it; its Wald test is against 0 (no disagreement).

    Parameters
    ----------
    ratings : pd.DataFrame
        One row per rating with ``response``, ``group`` and the ``cells`` columns.
    cells : sequence of str
        Columns whose combinations form the cells.
    min_n : int
        Cells with fewer ratings are not fitted; they are kept in the output with NaN
        estimates and a ``note`` (nothing is dropped silently).
    ci : float
        Level of the Wald intervals.
    **fit_kw
        Passed to :func:`mixed_model`.

    Returns
    -------
    pd.DataFrame
        One row per cell: the ``cells`` columns, ``n`` (ratings), ``n_pairs`` (when the pair
        columns are present), ``coef``, ``se``, ``ci_lo``, ``ci_hi``, ``p``, ``note``;
        ``attrs["result"]`` holds the statsmodels result and ``attrs["group_share"]`` the
        listeners' share of the residual variance.
    """
    cells = list(cells)
    _check_ratings(ratings, response, [*cells, group])
    if min_n < 1:
        raise ValueError(f"min_n: expected >= 1, got {min_n}")
    data = _cell_data(ratings, cells, response, group, min_n)
    result = mixed_model(data, formula="y ~ 0 + C(cell)", group=group, **fit_kw)
    table = mixed_model_table(result, ci=ci)
    fixed = table[table["kind"] == "fixed"]
    by_label = {name[len("C(cell)[") : -1]: row for name, row in fixed.iterrows()}
    out = pd.DataFrame(_cell_rows(ratings, cells, by_label, min_n))
    out.attrs = {
        "result": result,
        "cells": cells,
        "group_share": float(table.loc["Group share", "coef"]),
        "converged": bool(result.converged),
    }
    return out


def _cell_data(
    ratings: pd.DataFrame, cells: list[str], response: str, group: str, min_n: int
) -> pd.DataFrame:
    """The ratings of the cells with at least ``min_n`` ratings, as :func:`cell_model` fits them.

    Returns
    -------
    pd.DataFrame
        Shape (n_kept, 3): ``y`` (the response, float), ``cell`` (the cell's labels joined by
        ``" | "``) and ``group``.
    """
    labels = ratings[cells].astype(str).agg(" | ".join, axis=1)
    counts = labels.value_counts()
    fitted_cells = counts.index[counts >= min_n]
    if len(fitted_cells) == 0:
        raise ValueError(f"cell_model: no cell has >= {min_n} ratings (largest: {counts.max()})")
    keep = labels.isin(fitted_cells).to_numpy()
    data = pd.DataFrame(
        {"y": ratings[response].to_numpy(dtype=float)[keep], "cell": labels[keep].to_numpy()}
    )
    data[group] = ratings[group].to_numpy()[keep]
    return data


def _cell_rows(
    ratings: pd.DataFrame, cells: list[str], by_label: dict[str, pd.Series], min_n: int
) -> list[dict]:
    """One row per cell of :func:`cell_model`, fitted or not.

    Parameters
    ----------
    by_label : dict of cell label -> row of :func:`mixed_model_table`
        The fitted cells' estimates.

    Returns
    -------
    list of dict
        The ``cells`` labels, ``n``, [``n_pairs``], ``coef``, ``se``, ``ci_lo``, ``ci_hi``,
        ``p`` (NaN for cells not fitted) and ``note``.
    """
    rows = []
    has_pairs = all(c in ratings.columns for c in PAIR)
    for key, labels, sub in _iter_groups(ratings, cells):
        label = " | ".join(str(k) for k in key)
        row = dict(labels)
        row["n"] = len(sub)
        if has_pairs:
            row["n_pairs"] = len(sub.drop_duplicates(list(PAIR)))
        est = by_label.get(label)
        if est is None:
            row.update(coef=np.nan, se=np.nan, ci_lo=np.nan, ci_hi=np.nan, p=np.nan)
            row["note"] = f"n < min_n ({len(sub)} < {min_n}); not fitted"
        else:
            row.update({k: float(est[k]) for k in ("coef", "se", "ci_lo", "ci_hi", "p")})
            row["note"] = ""
        rows.append(row)
    return rows


def cell_gaps(cells: pd.DataFrame, reference: str, ci: float = 0.95) -> pd.DataFrame:
    """Each cell of :func:`cell_model` against the cell of ``reference`` in the same column.

    For cells ``(level, column)`` of a two-way table (``cells=("source", "event")``: a system's
    pairs of an event type), the gap is ``coef(level, column) - coef(reference, column)`` (the
    system against the natural clips of the same type), its standard error from the fitted
    model's covariance of the two coefficients, a two-sided Wald test of no gap, and a
    Benjamini-Hochberg q-value over every gap of the table: a ranking of many gaps reads as
    exploratory.

    Parameters
    ----------
    cells : pd.DataFrame
        Output of :func:`cell_model` with two cell columns (``attrs["cells"]``).
    reference : str
        The level of the first cell column compared against (e.g. ``"audiocaps"``).
    ci : float
        Level of the Wald intervals.

    Returns
    -------
    pd.DataFrame
        One row per cell of another level whose own and reference cell were both fitted: the two
        cell columns, ``coef``, ``reference_coef``, ``gap``, ``se``, ``gap_lo``, ``gap_hi``,
        ``p``, ``q``, ``n`` (ratings of the cell).

    Raises
    ------
    ValueError
        Not a two-column :func:`cell_model` table, or ``reference`` not a level of its first
        column.
    """
    names = cells.attrs.get("cells")
    if names is None or len(names) != 2 or "result" not in cells.attrs:
        raise ValueError("cells: expected the output of cell_model with two cell columns")
    level, column = names
    if reference not in set(cells[level].astype(str)):
        raise ValueError(f"reference: {reference!r} is not a level of {level!r}")
    result = cells.attrs["result"]
    cov, params = result.cov_params(), result.fe_params
    z = sps.norm.ppf(0.5 + ci / 2)
    fitted = cells.dropna(subset=["coef"])
    ref = fitted[fitted[level].astype(str) == reference].set_index(column)
    rows = []
    for row in fitted[fitted[level].astype(str) != reference].itertuples(index=False):
        key = getattr(row, column)
        if key not in ref.index:
            continue
        a, b = f"C(cell)[{getattr(row, level)} | {key}]", f"C(cell)[{reference} | {key}]"
        gap = float(params[a] - params[b])
        se = float(np.sqrt(cov.loc[a, a] + cov.loc[b, b] - 2 * cov.loc[a, b]))
        rows.append({level: getattr(row, level), column: key, "coef": float(params[a]),
                     "reference_coef": float(params[b]), "gap": gap, "se": se,
                     "gap_lo": gap - z * se, "gap_hi": gap + z * se,
                     "p": float(2 * sps.norm.sf(abs(gap) / se)), "n": int(row.n)})  # fmt: skip
    out = pd.DataFrame(
        rows,
        columns=[
            level,
            column,
            "coef",
            "reference_coef",
            "gap",
            "se",
            "gap_lo",
            "gap_hi",
            "p",
            "n",
        ],
    )
    out.insert(out.columns.get_loc("p") + 1, "q", bh_qvalues(out["p"].to_numpy(dtype=float)))
    return out
