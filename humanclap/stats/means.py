"""The mean of scores with a bootstrap interval, resampling captions like every interval of
humanclap (:mod:`humanclap.stats.bootstrap`): a resample draws as many captions as there are,
with replacement, and takes all the pairs of each drawn caption together."""

from __future__ import annotations

from typing import Any

import numpy as np

from humanclap.stats.bootstrap import (
    UNITS,
    _percentile_interval,
    _unit_codes,
    _unit_weights,
)

__all__ = ["mean_ci"]

#: Resamples drawn at once (bounds memory: ``chunk x n`` copy counts).
_CHUNK = 256


def mean_ci(
    scores, clusters, *, n_boot: int = 1000, seed: int = 0, ci: float = 0.95, unit="caption"
) -> dict[str, Any]:
    """The mean of ``scores`` with a percentile-bootstrap interval, resampling ``clusters``.

    Parameters
    ----------
    scores : array-like, shape (n,)
        Finite numbers.
    clusters : array-like, shape (n,)
        The caption of each score (all pairs of a caption are drawn together).
    n_boot, seed, ci
        Resamples, the seed of ``numpy.random.default_rng`` and the interval's level.
    unit : {"caption", "pair"}

    Returns
    -------
    dict
        ``mean``, ``lo``, ``hi``, ``ci``, ``n_boot``, ``seed``, ``resampled``
        (``"captions"``), ``n_units``.
    """
    x = np.asarray(scores, dtype=float)
    if len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(f"scores: expected finite numbers, got {len(x)} with non-finite ones")
    codes, k = _unit_codes(len(x), clusters, unit)
    rng = np.random.default_rng(seed)
    boot = []
    for start in range(0, n_boot, _CHUNK):
        w = _unit_weights(rng, codes, k, min(_CHUNK, n_boot - start))  # (b, n) copies
        boot.append((w @ x) / w.sum(axis=1))
    lo, hi, _ = _percentile_interval(np.concatenate(boot), ci)
    return {
        "mean": float(x.mean()), "lo": lo, "hi": hi, "ci": ci, "n_boot": n_boot, "seed": seed,
        "resampled": UNITS[unit], "n_units": int(k),
    }  # fmt: skip
