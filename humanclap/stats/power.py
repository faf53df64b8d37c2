"""Power of a recipe comparison: the smallest SRCC difference a design detects.

Chapter 4 compares two fine-tuning recipes ``a`` and ``b`` by ``D``, the mean over seeds of the
per-seed test SRCC of ``b`` minus that of ``a`` (:func:`humanclap.stats.seed_comparison`). A
"not significant" result means little unless the reader knows which differences the design
would have found. :func:`minimum_detectable_difference` answers that by simulation from the
data: for a test set of ``n_pairs`` pairs and ``n_seeds`` seeds per recipe,

- the **pair component** ``se_pairs`` is the SD of ``D`` over test sets of ``n_pairs`` pairs
  drawn with replacement from the given pairs (the observed joint distribution of the human
  score and every run's prediction; the runs themselves fixed). By default the draws are of
  captions, all the pairs of a caption together (RELATE rates each caption with about 3 clips),
  so a set holds ``n_pairs`` pairs on average; ``unit="pair"`` draws pairs as if independent.
  It is computed exactly as the chapter computes ``D``: per-seed SRCC, averaged over seeds, for
  every simulated test set;
- the **seed component** ``se_seeds`` is ``sqrt(sd_a**2 / k + sd_b**2 / k)``, where ``sd_r`` is
  recipe ``r``'s between-seed SD of SRCC on an unlimited test set. The runs' SD on the given
  pairs overstates it, because each seed's SRCC also carries its own share of pair noise (which
  is already in ``se_pairs``). With ``s**2`` the observed between-seed variance and ``v`` that
  share (the expected increase of the between-seed variance when the pairs are resampled, read
  off the simulation at the observed size N): ``sd_r**2 = max(s**2 - v, 0)``; the same ``v``
  is what makes ``s**2`` grow when pairs are resampled, so ``sd_r**2 = max(2 s**2 - E[s*²], 0)``
  with ``s*²`` the between-seed variance in one simulated test set of N pairs. Recipes are
  treated as independent across seeds, as :func:`~humanclap.stats.seed_comparison` treats them;
- ``se = sqrt(se_pairs**2 + se_seeds**2)`` and the minimum detectable difference, for a
  two-sided z-test at level ``alpha / n_comparisons`` (the first step of Holm's procedure over
  ``n_comparisons`` tests; 1 for a single comparison), is
  ``mde = (z[1 - alpha / (2 n_comparisons)] + z[power]) * se``.

The simulation ranks each test set once per run (average ranks for ties, as
:func:`scipy.stats.rankdata`) with the bootstrap's O(n) resample ranks
(:mod:`humanclap.stats.bootstrap`); 2000 test sets of 1311 pairs take about a second per pair
of recipes with one seed each.

The MDE approximates the power of :func:`~humanclap.stats.seed_comparison`'s percentile
bootstrap test: that test's interval is close to ``diff ± z * se`` when the bootstrap
distribution is near normal, but it resamples seeds with replacement, which shrinks the seed
term by ``(k - 1) / k`` (liberal with few seeds).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from humanclap.stats._checks import _as_vector, _check_positive_int
from humanclap.stats.bootstrap import (
    _CHUNK_ELEMENTS,
    _check_unit,
    _resample_ranks,
    _rowwise_pearson,
    _unique_codes,
    _unit_codes,
)

__all__ = ["minimum_detectable_difference", "srcc_difference_se"]


# ----------------------------------------------------------------------------- inputs
def _as_runs(pred, name: str, n: int) -> np.ndarray:
    """``pred`` as a float array of shape (n_seeds, n); raise ValueError naming ``name``."""
    try:
        arr = np.asarray(pred, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: cannot convert to a float array ({err})") from err
    arr = arr[None, :] if arr.ndim == 1 else arr
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != n:
        raise ValueError(
            f"{name}: expected shape ({n},) or (n_seeds, {n}) like target, got {np.shape(pred)}"
        )
    for s, row in enumerate(arr):
        _as_vector(row, f"{name}[{s}]" if arr.shape[0] > 1 else name)
        if np.all(row == row[0]):
            raise ValueError(f"{name}: run {s} is constant; its SRCC is undefined")
    return arr


def _check_design(target, pred_a, pred_b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``target`` (n,), ``pred_a`` (k_a, n) and ``pred_b`` (k_b, n)."""
    h = _as_vector(target, "target")
    if len(h) < 3:
        raise ValueError(f"target: need at least 3 pairs, got {len(h)}")
    if np.all(h == h[0]):
        raise ValueError("target: all values are equal; SRCC is undefined")
    return h, _as_runs(pred_a, "pred_a", len(h)), _as_runs(pred_b, "pred_b", len(h))


def _check_n_pairs(n_pairs: int | Sequence[int]) -> list[int]:
    """``n_pairs`` as a list of integers >= 3; raise ValueError naming ``n_pairs``."""
    values = [n_pairs] if np.ndim(n_pairs) == 0 else list(n_pairs)
    if not values:
        raise ValueError("n_pairs: expected at least one test-set size")
    for v in values:
        if int(v) != v or v < 3:
            raise ValueError(f"n_pairs: each test-set size must be an integer >= 3, got {v!r}")
    return [int(v) for v in values]


# ----------------------------------------------------------------------------- simulation
def _srcc_rows(pred: np.ndarray, target: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """SRCC of ``pred[idx[i]]`` with ``target[idx[i]]`` for every row ``i``.

    Parameters
    ----------
    pred, target : np.ndarray, shape (N,)
    idx : np.ndarray of int, shape (n_draws, n)
        Indices of each simulated test set (any ``n``; repeats allowed).

    Returns
    -------
    np.ndarray, shape (n_draws,)
        Spearman's rho (Pearson r of average ranks); NaN where a test set is constant.
    """
    h_rank = _resample_ranks(*_unique_codes(target), idx)
    return _rowwise_pearson(_resample_ranks(*_unique_codes(pred), idx), h_rank)


def _draw_sets(
    rng: np.random.Generator, units: tuple[np.ndarray, int], n: int, b: int
) -> list[np.ndarray]:
    """``b`` simulated test sets of about ``n`` pairs, as index arrays of equal-size groups.

    Pairs (``units`` of one pair each): ``b`` rows of ``n`` indices drawn with replacement.
    Captions: each set draws ``m = max(1, round(n * k / N))`` of the ``k`` captions with
    replacement and holds all their pairs, so its size varies with the captions drawn (their
    mean is ``n``); the sets are returned grouped by size, each group of shape (sets, size).
    """
    codes, k = units
    m = max(1, round(n * k / len(codes)))
    drawn = rng.integers(0, k, size=(b, m if k < len(codes) else n))
    if k == len(codes):  # one pair per unit: the pair draws themselves
        return [np.argsort(codes, kind="stable")[drawn]]
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=k)
    members = np.full((k, sizes.max()), -1)
    members[np.repeat(np.arange(k), sizes), np.arange(len(codes)) - np.repeat(
        np.cumsum(sizes) - sizes, sizes)] = order  # fmt: skip
    gathered = members[drawn].reshape(b, -1)  # (b, m * max size), -1 where no pair
    totals = sizes[drawn].sum(axis=1)
    return [
        gathered[totals == t][gathered[totals == t] >= 0].reshape(-1, t) for t in np.unique(totals)
    ]


def _simulate(
    h: np.ndarray,
    runs: Sequence[np.ndarray],
    n: int,
    n_sim: int,
    seed: int | None,
    units: tuple[np.ndarray, int] | None = None,
) -> list[np.ndarray]:
    """Per-seed SRCC of every recipe on ``n_sim`` test sets of ``n`` pairs drawn with
    replacement (pair by pair, or caption by caption with ``units``: :func:`_draw_sets`).

    All recipes share each test set (paired). The draws come from ``default_rng([seed, n])``,
    so one size's simulation does not depend on which other sizes are asked for.

    Parameters
    ----------
    h : np.ndarray, shape (N,)
    runs : sequence of np.ndarray, shape (k_r, N)
    units : (codes, k), optional
        The resampling unit of each pair (:func:`humanclap.stats.bootstrap._unit_codes`);
        None: pairs.

    Returns
    -------
    list of np.ndarray, shape (n_sim_valid, k_r)
        One per recipe; test sets on which any run or ``h`` is constant are left out of all.
    """
    rng = np.random.default_rng(None if seed is None else [seed, n])
    units = (np.arange(len(h)), len(h)) if units is None else units
    h_codes = _unique_codes(h)
    codes = [[_unique_codes(row) for row in arr] for arr in runs]
    chunk = max(1, _CHUNK_ELEMENTS // n)
    out: list[list[np.ndarray]] = [[] for _ in runs]
    done = 0
    while done < n_sim:
        b = min(chunk, n_sim - done)
        for idx in _draw_sets(rng, units, n, b):
            h_rank = _resample_ranks(*h_codes, idx)
            for r, rows in enumerate(codes):
                srcc = [_rowwise_pearson(_resample_ranks(*c, idx), h_rank) for c in rows]
                out[r].append(np.stack(srcc, axis=1))
        done += b
    sims = [np.concatenate(chunks) for chunks in out]
    ok = np.all(np.isfinite(np.concatenate(sims, axis=1)), axis=1)
    return [s[ok] for s in sims]


def _point_srcc(pred: np.ndarray, h: np.ndarray) -> np.ndarray:
    """SRCC of each run (row of ``pred``, shape (k, N)) with ``h`` on all pairs, shape (k,)."""
    return np.array([sps.spearmanr(row, h).statistic for row in pred])


def _seed_sd(point: np.ndarray, sims_at_n: np.ndarray) -> float:
    """A recipe's between-seed SD of SRCC on an unlimited test set (see the module docstring).

    Parameters
    ----------
    point : np.ndarray, shape (k,)
        Each seed's SRCC on the given N pairs.
    sims_at_n : np.ndarray, shape (n_sim, k)
        Each seed's SRCC on test sets of N pairs drawn from them.

    Returns
    -------
    float
        ``sqrt(max(2 s**2 - mean(s*²), 0))``; 0 for a single seed.
    """
    if len(point) < 2:
        return 0.0
    s2 = float(np.var(point, ddof=1))
    s2_sim = float(np.mean(np.var(sims_at_n, axis=1, ddof=1)))
    return float(np.sqrt(max(2.0 * s2 - s2_sim, 0.0)))


def _detection_power(diff: float, se: float, z_alpha: float) -> float:
    """Power of a two-sided z-test (critical value ``z_alpha``) when the truth is ``diff``."""
    if not se > 0:
        return np.nan
    shift = abs(diff) / se
    return float(sps.norm.sf(z_alpha - shift) + sps.norm.cdf(-z_alpha - shift))


# ----------------------------------------------------------------------------- public
def srcc_difference_se(
    target,
    pred_a,
    pred_b,
    n_pairs: int | None = None,
    n_sim: int = 2000,
    seed: int | None = 0,
    *,
    clusters=None,
    unit: str = "caption",
) -> float:
    """Pair-sampling SD of the seed-mean SRCC difference ``b - a`` on ``n_pairs`` test pairs.

    Test sets of ``n_pairs`` pairs are drawn with replacement from the given pairs (the same
    pairs for both recipes); in each, every run's SRCC with ``target`` is computed, averaged
    over each recipe's seeds, and ``b``'s mean minus ``a``'s is taken. The runs stay fixed:
    the spread of seeds is :func:`minimum_detectable_difference`'s other component.

    Parameters
    ----------
    target : array-like, shape (N,)
        The human score of each pair.
    pred_a, pred_b : array-like, shape (N,) or (n_seeds, N)
        Each recipe's predictions, one row per seed.
    n_pairs : int, optional
        Size of the simulated test sets (>= 3); default N (then this is the bootstrap SE).
    n_sim : int
        Simulated test sets.
    seed : int or None
        Seed of the draws.
    clusters, unit
        How test sets are drawn: ``unit="caption"`` (the default) draws captions, all the
        pairs of a caption together (``clusters``: the caption of each pair; about ``n_pairs``
        pairs per set, their mean), ``"pair"`` draws pairs as if they were independent.

    Returns
    -------
    float
        The SD (ddof=1) over the simulated test sets; those on which a run is constant are
        left out.
    """
    h, a, b = _check_design(target, pred_a, pred_b)
    (n,) = _check_n_pairs(len(h) if n_pairs is None else n_pairs)
    _check_positive_int(n_sim, "n_sim")
    units = _unit_codes(len(h), clusters, unit)
    sim_a, sim_b = _simulate(h, [a, b], n, n_sim, seed, units)
    diff = sim_b.mean(axis=1) - sim_a.mean(axis=1)
    return float(np.std(diff, ddof=1)) if len(diff) > 1 else np.nan


def minimum_detectable_difference(
    target,
    pred_a,
    pred_b,
    n_pairs: int | Sequence[int] = (282, 1311),
    *,
    seed_sd: float | None = None,
    n_seeds: int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    n_comparisons: int = 1,
    n_sim: int = 2000,
    seed: int | None = 0,
    clusters=None,
    unit: str = "caption",
) -> pd.DataFrame:
    """The smallest seed-mean SRCC difference a design detects, per test-set size.

    See the module docstring for the two components of the standard error and the formula.

    Parameters
    ----------
    target : array-like, shape (N,)
        The human score of each pair.
    pred_a, pred_b : array-like, shape (N,) or (n_seeds, N)
        The two recipes' predictions (``a`` is the reference), one row per seed.
    n_pairs : int or sequence of int
        Test-set sizes to evaluate (each >= 3), e.g. the world's 282 and RELATE's 1,311.
    seed_sd : float, optional
        Between-seed SD of one recipe's SRCC (on an unlimited test set), used for both
        recipes. Default: estimated from the runs (0 for a recipe with one run).
    n_seeds : int, optional
        Seeds per recipe in the design; default each recipe's number of runs.
    alpha : float
        Two-sided level of the test, in (0, 1).
    power : float
        Power wanted, in (0, 1).
    n_comparisons : int
        Tests in the Holm family; the MDE is for the strictest step, ``alpha / n_comparisons``.
    n_sim, seed :
        Simulated test sets per size, and the seed of the draws.
    clusters, unit
        How test sets are drawn (:func:`srcc_difference_se`): captions, all the pairs of a
        caption together (the default; ``clusters`` is the caption of each pair), or pairs.

    Returns
    -------
    pd.DataFrame
        One row per ``n_pairs`` (input order): ``n_pairs``, ``n_seeds_a``, ``n_seeds_b``,
        ``se_pairs`` (from the test sets, drawn by ``unit``),
        ``se_seeds``, ``se``, ``mde``, ``diff`` (the observed seed-mean SRCC of ``b`` minus
        ``a`` on all given pairs), ``power`` (of the test against a true difference equal
        to ``diff``; a planning figure for another test-set size, not evidence about the
        observed result) and ``resampled`` (``"captions"`` or ``"pairs"``).
    """
    h, a, b = _check_design(target, pred_a, pred_b)
    sizes = _check_n_pairs(n_pairs)
    _check_positive_int(n_sim, "n_sim")
    _check_positive_int(n_comparisons, "n_comparisons")
    for value, name in ((alpha, "alpha"), (power, "power")):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name}: expected a value in (0, 1), got {value!r}")
    if seed_sd is not None and not (np.isfinite(seed_sd) and seed_sd >= 0):
        raise ValueError(f"seed_sd: expected a finite value >= 0, got {seed_sd!r}")
    if n_seeds is not None:
        _check_positive_int(n_seeds, "n_seeds")
    units = _unit_codes(len(h), clusters, unit)
    sims = {n: _simulate(h, [a, b], n, n_sim, seed, units) for n in dict.fromkeys([*sizes, len(h)])}
    points = [_point_srcc(a, h), _point_srcc(b, h)]
    if seed_sd is None:
        sds = [_seed_sd(p, s) for p, s in zip(points, sims[len(h)], strict=True)]
    else:
        sds = [float(seed_sd), float(seed_sd)]
    ks = [n_seeds or a.shape[0], n_seeds or b.shape[0]]
    se_seeds = float(np.sqrt(sum(sd**2 / k for sd, k in zip(sds, ks, strict=True))))
    z_alpha = float(sps.norm.ppf(1.0 - alpha / (2.0 * n_comparisons)))
    z_power = float(sps.norm.ppf(power))
    diff = float(points[1].mean() - points[0].mean())
    rows = []
    for n in sizes:
        sim_a, sim_b = sims[n]
        d = sim_b.mean(axis=1) - sim_a.mean(axis=1)
        se_pairs = float(np.std(d, ddof=1)) if len(d) > 1 else np.nan
        se = float(np.hypot(se_pairs, se_seeds))
        rows.append(
            {
                "n_pairs": n,
                "n_seeds_a": ks[0],
                "n_seeds_b": ks[1],
                "se_pairs": se_pairs,
                "se_seeds": se_seeds,
                "se": se,
                "mde": (z_alpha + z_power) * se,
                "diff": diff,
                "power": _detection_power(diff, se, z_alpha),
            }
        )
    return pd.DataFrame(rows).assign(resampled=_check_unit(unit))
