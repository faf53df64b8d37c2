"""The SRCC noise ceiling (humanclap.stats.srcc_ceiling) against simulations with known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import humanclap.stats as hs


def _study(truth: np.ndarray, n_i: np.ndarray, sd_within: float, rng) -> pd.DataFrame:
    """Ratings ``truth[i] + N(0, sd_within)``, ``n_i[i]`` of them for pair i (long table)."""
    codes = np.repeat(np.arange(len(truth)), n_i)
    score = truth[codes] + sd_within * rng.standard_normal(len(codes))
    return pd.DataFrame({"wavname": [f"c{c}.wav" for c in codes], "text": "t", "score": score})


def _truth(kind: str, a: int, rng) -> np.ndarray:
    if kind == "gaussian":
        return rng.normal(5.0, 1.5, a)
    if kind == "skewed":
        return 10.0 * rng.beta(5.0, 1.5, a)
    # two tight clusters: ranks within a cluster are mostly noise, so SRCC << LCC
    return np.where(rng.random(a) < 0.5, rng.normal(2.0, 0.5, a), rng.normal(7.0, 0.5, a))


def _actual_srcc(kind: str, a: int, sd_within: float, seed: int, reps: int = 40) -> float:
    """The true values' mean Spearman r with the observed pair means, over ``reps`` studies."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(reps):
        t = _truth(kind, a, rng)
        n_i = rng.integers(1, 7, a)
        m = t + sd_within / np.sqrt(n_i) * rng.standard_normal(a)
        out.append(stats.spearmanr(t, m)[0])
    return float(np.mean(out))


@pytest.mark.parametrize("kind", ["gaussian", "skewed", "bimodal"])
def test_srcc_ceiling_recovers_known_truth(kind: str) -> None:
    actual = _actual_srcc(kind, 500, 2.0, seed=1)
    rng = np.random.default_rng(2)
    estimates = []
    for rep in range(3):
        ratings = _study(_truth(kind, 500, rng), rng.integers(1, 7, 500), 2.0, rng)
        estimates.append(hs.srcc_ceiling(ratings, n_sim=200, seed=rep)["ceiling_srcc"])
    assert np.mean(estimates) == pytest.approx(actual, abs=0.025)


def test_bimodal_srcc_ceiling_is_below_the_lcc_one() -> None:
    rng = np.random.default_rng(3)
    ratings = _study(_truth("bimodal", 500, rng), rng.integers(1, 7, 500), 2.0, rng)
    res = hs.srcc_ceiling(ratings, n_sim=200)
    assert res["ceiling_srcc"] < res["ceiling_lcc"] - 0.01
    assert res["ceiling_srcc_lo"] < res["ceiling_srcc"] < res["ceiling_srcc_hi"]


def test_gaussian_balanced_matches_lcc_ceiling_and_the_bivariate_normal_formula() -> None:
    rng = np.random.default_rng(4)
    ratings = _study(rng.normal(0.0, 1.0, 800), np.full(800, 3), 1.5, rng)
    res = hs.srcc_ceiling(ratings, n_sim=300, seed=0)
    rel = hs.reliability(ratings)
    assert res["ceiling_lcc"] == pytest.approx(rel["ceiling_lcc"])
    # The simulation's own LCC is the analytic sqrt(ICC(1, k_hm)).
    assert res["ceiling_lcc_sim"] == pytest.approx(res["ceiling_lcc"], abs=0.01)
    # Bivariate normal: Spearman = (6 / pi) asin(r / 2).
    expected = 6.0 / np.pi * np.arcsin(res["ceiling_lcc"] / 2.0)
    assert res["ceiling_srcc"] == pytest.approx(expected, abs=0.015)
    assert res["ceiling_srcc"] == pytest.approx(res["ceiling_lcc"], abs=0.03)
    assert res["n_pairs"] == 800 and res["n_ratings"] == 2400 and res["n_sim"] == 300


def test_srcc_ceiling_is_reproducible_and_zero_without_pair_differences() -> None:
    rng = np.random.default_rng(5)
    ratings = _study(rng.normal(0.0, 1.0, 100), np.full(100, 2), 1.0, rng)
    assert hs.srcc_ceiling(ratings, n_sim=20, seed=7) == hs.srcc_ceiling(ratings, n_sim=20, seed=7)
    noise_only = _study(np.zeros(100), np.full(100, 3), 1.0, np.random.default_rng(6))
    res = hs.srcc_ceiling(noise_only, n_sim=20)
    if hs.reliability(noise_only)["icc1"] <= 0:
        assert res["ceiling_srcc"] == 0.0 and res["ceiling_lcc"] == 0.0
    assert res["ceiling_srcc"] <= 0.5


def test_srcc_ceiling_by_groups_and_notes_small_groups() -> None:
    rng = np.random.default_rng(8)
    big = _study(rng.normal(0.0, 1.0, 200), np.full(200, 3), 1.0, rng).assign(source="a")
    tiny = _study(np.array([0.0]), np.array([2]), 1.0, rng).assign(source="b")
    table = hs.srcc_ceiling_by(pd.concat([big, tiny], ignore_index=True), "source", n_sim=20)
    assert list(table["source"]) == ["a", "b"]
    alone = hs.srcc_ceiling(big, n_sim=20)
    assert table.loc[0, "ceiling_srcc"] == pytest.approx(alone["ceiling_srcc"])
    assert table.loc[0, "note"] == "" and "at least 2 pairs" in table.loc[1, "note"]
    assert np.isnan(table.loc[1, "ceiling_srcc"])


def test_srcc_ceiling_checks_its_arguments() -> None:
    ratings = _study(np.arange(10.0), np.full(10, 2), 1.0, np.random.default_rng(9))
    with pytest.raises(ValueError, match="n_sim"):
        hs.srcc_ceiling(ratings, n_sim=0)
    with pytest.raises(ValueError, match="missing column"):
        hs.srcc_ceiling(ratings.drop(columns="score"))
