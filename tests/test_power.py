"""Tests of humanclap.stats.power: scipy's Spearman, fresh samples from Gaussian models with known
correlations, and the rejection rate of a z-test at the minimum detectable difference."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from scipy import stats as sps

from humanclap import stats
from humanclap.stats.power import (
    _detection_power,
    _draw_sets,
    _srcc_rows,
)
from humanclap.stats.power import minimum_detectable_difference as _mdd
from humanclap.stats.power import srcc_difference_se as _se

#: The Gaussian pairs of these tests are independent: drawn as pairs (captions: at the end).
minimum_detectable_difference = partial(_mdd, unit="pair")
srcc_difference_se = partial(_se, unit="pair")


# ----------------------------------------------------------------------------- helpers
def _spearman_of_gaussian(rho: float) -> float:
    """Population Spearman correlation of a bivariate normal with Pearson ``rho``."""
    return 6.0 / np.pi * np.arcsin(rho / 2.0)


def _gaussian(rng, size, rho_a: float, rho_b: float, rho_e: float = 0.5):
    """Draws of (y, a, b): corr(y, a) = rho_a, corr(y, b) = rho_b, the errors correlate rho_e.

    ``size`` is the shape of each output (e.g. ``(n,)`` or ``(reps, n)``).
    """
    y = rng.normal(size=size)
    e1 = rng.normal(size=size)
    e2 = rho_e * e1 + np.sqrt(1 - rho_e**2) * rng.normal(size=size)
    a = rho_a * y + np.sqrt(1 - rho_a**2) * e1
    b = rho_b * y + np.sqrt(1 - rho_b**2) * e2
    return y, a, b


def _row_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of matching rows of ``x`` and ``y`` (scipy's ranks), shape (reps,)."""
    rx = sps.rankdata(x, axis=1)
    ry = sps.rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    return (rx * ry).sum(axis=1) / np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))


def _true_sd(rng, n: int, rho_a: float, rho_b: float, reps: int = 3000) -> float:
    """SD of SRCC(b, y) - SRCC(a, y) over fresh samples of ``n`` pairs from the true model."""
    y, a, b = _gaussian(rng, (reps, n), rho_a, rho_b)
    return float(np.std(_row_spearman(b, y) - _row_spearman(a, y), ddof=1))


# ----------------------------------------------------------------------------- SRCC
def test_vectorised_srcc_equals_scipy_with_ties():
    rng = np.random.default_rng(1)
    target = rng.integers(0, 5, size=60).astype(float)  # heavy ties
    pred = np.round(rng.normal(size=60) + 0.3 * target, 1)  # some ties
    idx = rng.integers(0, 60, size=(50, 90))  # test sets larger than the data, with repeats
    got = _srcc_rows(pred, target, idx)
    want = [sps.spearmanr(pred[i], target[i]).statistic for i in idx]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_se_is_the_sd_of_the_seed_mean_difference_over_the_same_draws():
    # Recompute the pair component by hand with scipy on the draws the module makes.
    rng = np.random.default_rng(2)
    y = rng.integers(0, 7, size=40).astype(float)
    a = y + rng.normal(size=(3, 40)) * 2
    b = y + rng.normal(size=(2, 40)) * 1.5
    n, n_sim, seed = 50, 100, 7
    idx = np.random.default_rng([seed, n]).integers(0, 40, size=(n_sim, n))

    def seed_mean(p):
        return np.mean([[sps.spearmanr(row[i], y[i]).statistic for row in p] for i in idx], axis=1)

    want = np.std(seed_mean(b) - seed_mean(a), ddof=1)
    got = srcc_difference_se(y, a, b, n_pairs=n, n_sim=n_sim, seed=seed)
    assert got == pytest.approx(want, rel=1e-10)
    table = minimum_detectable_difference(y, a, b, n_pairs=n, n_sim=n_sim, seed=seed)
    assert table["se_pairs"].iloc[0] == pytest.approx(want, rel=1e-10)


# ----------------------------------------------------------------------------- the pair component
@pytest.mark.parametrize("factor", [1, 4])
def test_resampling_se_matches_fresh_samples_from_the_truth(factor):
    # The SE from resampling one sample of N pairs (averaged over a few samples, to beat the
    # estimate's own noise) against the SD over fresh samples of n = factor * N pairs.
    rho_a, rho_b, big_n = 0.4, 0.6, 250
    rng = np.random.default_rng(3)
    n = factor * big_n
    truth = _true_sd(rng, n, rho_a, rho_b)
    estimates = [
        srcc_difference_se(*_gaussian(rng, (big_n,), rho_a, rho_b), n_pairs=n, n_sim=800, seed=k)
        for k in range(8)
    ]
    assert np.mean(estimates) == pytest.approx(truth, rel=0.08)


def test_se_scales_like_one_over_sqrt_n():
    rng = np.random.default_rng(4)
    y, a, b = _gaussian(rng, (400,), 0.3, 0.5)
    se_small = srcc_difference_se(y, a, b, n_pairs=200, n_sim=2000, seed=0)
    se_large = srcc_difference_se(y, a, b, n_pairs=1600, n_sim=2000, seed=0)
    assert se_small / se_large == pytest.approx(np.sqrt(1600 / 200), rel=0.08)


# ----------------------------------------------------------------------------- the MDE
def test_mde_gives_80_percent_power():
    # Estimate the MDE at n pairs from datasets of a Gaussian model, make the true SRCC
    # difference equal to it, then test many fresh datasets with a z-test on the estimated SE.
    rng = np.random.default_rng(5)
    n, rho_a = 200, 0.4
    mdes = [
        minimum_detectable_difference(
            *_gaussian(rng, (n,), rho_a, 0.55), n_pairs=n, n_sim=400, seed=k
        )["mde"].iloc[0]
        for k in range(10)
    ]
    mde = float(np.mean(mdes))
    target_srcc = _spearman_of_gaussian(rho_a) + mde
    rho_b = 2.0 * np.sin(target_srcc * np.pi / 6.0)  # invert the Gaussian Spearman formula
    rejected = []
    for k in range(400):
        y, a, b = _gaussian(rng, (n,), rho_a, rho_b)
        diff = sps.spearmanr(b, y).statistic - sps.spearmanr(a, y).statistic
        se = srcc_difference_se(y, a, b, n_sim=200, seed=k)
        rejected.append(abs(diff) > sps.norm.ppf(0.975) * se)
    assert np.mean(rejected) == pytest.approx(0.80, abs=0.06)


def test_mde_formula_and_power_column():
    rng = np.random.default_rng(6)
    y, a, b = _gaussian(rng, (300,), 0.3, 0.45)
    table = minimum_detectable_difference(y, a, b, n_pairs=(100, 300), n_sim=500, seed=0)
    assert list(table["n_pairs"]) == [100, 300]
    assert (table["se_seeds"] == 0).all()  # one run each: no seed component
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    np.testing.assert_allclose(table["mde"], z * table["se"])
    np.testing.assert_allclose(table["se"], table["se_pairs"])
    assert table["diff"].iloc[0] == pytest.approx(
        sps.spearmanr(b, y).statistic - sps.spearmanr(a, y).statistic
    )
    se = table["se"].iloc[1]
    assert table["power"].iloc[1] == pytest.approx(
        _detection_power(table["diff"].iloc[1], se, sps.norm.ppf(0.975))
    )
    assert _detection_power(z * se, se, sps.norm.ppf(0.975)) == pytest.approx(0.8, abs=1e-3)
    # Holm's strictest step over 5 comparisons: alpha / 5.
    holm5 = minimum_detectable_difference(y, a, b, n_pairs=300, n_comparisons=5, n_sim=500)
    z5 = sps.norm.ppf(1 - 0.05 / 10) + sps.norm.ppf(0.8)
    assert holm5["mde"].iloc[0] == pytest.approx(z5 * table["se"].iloc[1])
    assert stats.minimum_detectable_difference is _mdd


# ----------------------------------------------------------------------------- the seed component
def _seed_runs(rng, big_n: int, k: int):
    """``y`` (big_n,), recipe ``a`` (k, big_n) whose seeds differ only by their noise (no
    between-seed SD on unlimited pairs), recipe ``b`` (k, big_n) whose seeds have different
    correlations, and ``b``'s true between-seed SD of SRCC."""
    y = rng.normal(size=big_n)
    rhos = np.linspace(0.35, 0.65, k)
    b = np.stack([r * y + np.sqrt(1 - r**2) * rng.normal(size=big_n) for r in rhos])
    a = np.stack([0.5 * y + np.sqrt(0.75) * rng.normal(size=big_n) for _ in range(k)])
    return y, a, b, np.std([_spearman_of_gaussian(r) for r in rhos], ddof=1)


def test_seed_component_estimated_from_the_runs():
    rng = np.random.default_rng(7)
    big_n, k = 600, 6
    variances = []
    for rep in range(6):
        y, a, b, sd_b = _seed_runs(rng, big_n, k)
        table = minimum_detectable_difference(y, a, b, n_pairs=big_n, n_sim=600, seed=rep)
        naive = np.sqrt(
            np.var([sps.spearmanr(r, y).statistic for r in a], ddof=1) / k
            + np.var([sps.spearmanr(r, y).statistic for r in b], ddof=1) / k
        )
        assert table["se_seeds"].iloc[0] < naive  # each seed's pair noise is not counted twice
        assert (table["n_seeds_a"].iloc[0], table["n_seeds_b"].iloc[0]) == (k, k)
        variances.append(table["se_seeds"].iloc[0] ** 2)
    # Truth: sd_b**2 / k from recipe b, nothing from recipe a.
    assert np.sqrt(np.mean(variances)) == pytest.approx(sd_b / np.sqrt(k), rel=0.15)


def test_seed_component_given():
    y, a, b, _ = _seed_runs(np.random.default_rng(9), 200, 3)
    given = minimum_detectable_difference(
        y, a, b, n_pairs=(100, 200), seed_sd=0.02, n_seeds=10, n_sim=300
    )
    np.testing.assert_allclose(given["se_seeds"], 0.02 * np.sqrt(2 / 10))
    np.testing.assert_allclose(given["se"], np.hypot(given["se_pairs"], 0.02 * np.sqrt(0.2)))
    assert list(given["n_seeds_a"]) == [10, 10]


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"pred_a": np.arange(9.0)}, "pred_a"),
        ({"pred_b": np.ones((2, 10))}, "pred_b"),
        ({"target": np.r_[np.nan, np.arange(9.0)]}, "target"),
        ({"pred_b": np.r_[np.arange(9.0), np.inf]}, "pred_b"),
        ({"n_pairs": 2}, "n_pairs"),
        ({"n_pairs": (100, 2.5)}, "n_pairs"),
        ({"alpha": 1.5}, "alpha"),
        ({"power": 0.0}, "power"),
        ({"seed_sd": -0.1}, "seed_sd"),
        ({"n_seeds": 0}, "n_seeds"),
        ({"n_sim": 0}, "n_sim"),
        ({"n_comparisons": 0}, "n_comparisons"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    rng = np.random.default_rng(8)
    args = {"target": rng.normal(size=10), "pred_a": rng.normal(size=10)}
    args["pred_b"] = rng.normal(size=10)
    args["n_sim"] = 10
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        minimum_detectable_difference(**args)


def test_se_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="n_pairs"):
        srcc_difference_se(np.arange(5.0), np.arange(5.0), np.arange(5.0)[::-1], n_pairs=1)
    with pytest.raises(ValueError, match="pred_a"):
        srcc_difference_se(np.arange(5.0), np.arange(4.0), np.arange(5.0))
    with pytest.raises(ValueError, match="target"):
        srcc_difference_se([1.0, 2.0], [1.0, 2.0], [2.0, 1.0])


# ----------------------------------------------------------------------------- captions
def test_caption_draws_hold_whole_captions_and_n_pairs_on_average():
    codes = np.repeat(np.arange(40), [1, 2, 3, 4] * 10)  # captions of 1-4 pairs, 100 pairs
    rng = np.random.default_rng(0)
    sets = _draw_sets(rng, (codes, 40), 50, 400)  # about 50 pairs: 20 captions each
    assert sum(len(g) for g in sets) == 400
    sizes = []
    for group in sets:
        for row in group:
            drawn = codes[row]
            counts = np.bincount(drawn, minlength=40)
            whole = np.bincount(codes, minlength=40)
            assert np.all(counts % np.where(whole > 0, whole, 1) == 0)  # whole captions only
            assert counts.sum() // 1 == len(row)
            sizes.append(len(row))
    assert np.mean(sizes) == pytest.approx(50, rel=0.05)


def test_one_pair_per_caption_is_the_pair_bootstrap():
    rng = np.random.default_rng(11)
    y, a, b = _gaussian(rng, (120,), 0.3, 0.5)
    by_caption = _mdd(y, a, b, n_pairs=(60, 120), n_sim=300, clusters=np.arange(120))
    by_pair = _mdd(y, a, b, n_pairs=(60, 120), n_sim=300, unit="pair")
    np.testing.assert_array_equal(by_caption["se_pairs"], by_pair["se_pairs"])
    assert list(by_caption["resampled"]) == ["captions"] * 2
    assert list(by_pair["resampled"]) == ["pairs"] * 2


def test_captions_of_identical_pairs_count_once():
    """Each caption's 3 pairs identical: drawing captions is drawing the distinct pairs (the
    SRCC of a tripled set is that of the set), while drawing pairs understates the SE by ~√3."""
    rng = np.random.default_rng(12)
    y, a, b = _gaussian(rng, (150,), 0.3, 0.5)
    y3, a3, b3 = (np.repeat(v, 3) for v in (y, a, b))
    captions = np.repeat(np.arange(150), 3)
    distinct = _se(y, a, b, n_pairs=150, n_sim=2000, seed=1, unit="pair")
    caption = _se(y3, a3, b3, n_pairs=450, n_sim=2000, seed=1, clusters=captions)
    pair = _se(y3, a3, b3, n_pairs=450, n_sim=2000, seed=1, unit="pair")
    assert caption == pytest.approx(distinct, rel=0.08)
    assert pair == pytest.approx(distinct / np.sqrt(3), rel=0.1)
    with pytest.raises(ValueError, match="clusters"):
        _se(y, a, b)  # captions are the default unit and need the captions
