"""Tests of the agreement metrics of humanclap.stats against scipy/numpy and by simulation."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import humanclap.stats as hs
from humanclap.stats import bootstrap as hb


def _tied_data(n: int, seed: int = 0, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A continuous predictor and a tied integer 'human' score, shape (n,) each."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = np.clip(np.round(5 + 2 * x + noise * rng.normal(size=n)), 0, 10)
    return x, y


# ----------------------------------------------------------------------------- point metrics
def test_correlation_report_matches_scipy_with_ties():
    x, y = _tied_data(300)
    x_tied = np.round(x, 1)  # ties on both sides
    rep = hs.correlation_report(x_tied, y)
    assert rep["srcc"] == pytest.approx(stats.spearmanr(x_tied, y).statistic, abs=1e-12)
    assert rep["lcc"] == pytest.approx(stats.pearsonr(x_tied, y).statistic, abs=1e-12)
    tau_b = stats.kendalltau(x_tied, y, variant="b").statistic
    assert rep["ktau"] == pytest.approx(tau_b, abs=1e-12)
    assert rep["ktau"] != pytest.approx(stats.kendalltau(x_tied, y, variant="c").statistic)
    assert rep["mse"] == pytest.approx(np.mean((x_tied - y) ** 2), rel=1e-12)
    assert rep["n"] == 300


@pytest.mark.parametrize(
    ("pred", "human", "match"),
    [
        ([1, 2, 3, 4], [1, 2, 3], "pred has 4 values but target has 3"),
        ([1, 2], [2, 1], "at least 3"),
        (
            [1, np.nan, 3, np.inf],
            [1, 2, 3, 4],
            r"pred: 2 of 4 values are NaN or infinite \(positions 1, 3\)",
        ),
        ([1, 2, 3, 4], [1, 2, np.nan, 4], r"target: 1 of 4 .*positions 2"),
        ([1, 1, 1, 1], [1, 2, 3, 4], "pred: all 4 values equal"),
        ([1, 2, 3, 4], [5, 5, 5, 5], "target: all 4 values equal"),
        ([[1, 2], [3, 4]], [1, 2], r"pred: expected shape \(n,\)"),
        (["a", "b", "c"], [1, 2, 3], "pred: cannot convert"),
    ],
)
def test_correlation_report_errors(pred, human, match):
    with pytest.raises(ValueError, match=match):
        hs.correlation_report(pred, human)


# ----------------------------------------------------------------------------- bootstrap internals
def test_resample_ranks_equal_rankdata():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 7, size=200).astype(float)  # many ties
    idx = rng.integers(0, 200, size=(50, 200))
    codes, n_unique = hb._unique_codes(x)
    ranks = hb._resample_ranks(codes, n_unique, idx)
    np.testing.assert_array_equal(ranks, stats.rankdata(x[idx], axis=1))
    # The same ranks from copy counts: each pair's copies get its value's rank in the resample.
    w = hb._resample_counts(idx, 200)
    by_counts, counts = hb._weighted_ranks(codes, n_unique, w)
    for b in range(50):
        drawn = np.flatnonzero(w[b])
        expanded = stats.rankdata(np.repeat(x[drawn], w[b, drawn].astype(int)))
        np.testing.assert_array_equal(
            np.repeat(by_counts[b, drawn], w[b, drawn].astype(int)), expanded
        )
    assert (counts.sum(axis=1) == 200).all()


def test_bootstrap_distributions_equal_per_resample_scipy():
    """Vectorised resample metrics equal scipy on the same resamples (reproduced indices)."""
    x, y = _tied_data(60, seed=2)
    n_boot, seed = 40, 7
    boot = hb._boot_distributions([x], y, hs.METRICS, n_boot, seed)[0]
    idx = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))
    for b in range(n_boot):
        p, h = x[idx[b]], y[idx[b]]
        assert boot["srcc"][b] == pytest.approx(stats.spearmanr(p, h).statistic, abs=1e-10)
        assert boot["lcc"][b] == pytest.approx(stats.pearsonr(p, h).statistic, abs=1e-10)
        assert boot["ktau"][b] == pytest.approx(stats.kendalltau(p, h).statistic, abs=1e-12)
        assert boot["mse"][b] == pytest.approx(np.mean((p - h) ** 2), rel=1e-12)


def test_ktau_of_resamples_by_matrix_equals_the_scipy_loop(monkeypatch):
    """The n x n sign-matrix path and the per-resample scipy loop (used above
    _KTAU_MATRIX_MAX_N) agree, ties and constant resamples included."""
    x, y = _tied_data(40, seed=5)
    rng = np.random.default_rng(3)
    idx = np.vstack([rng.integers(0, 40, size=(30, 40)), np.full((1, 40), 7)])  # last: constant
    by_matrix = hb._ktau_resamples(x, y, idx)
    monkeypatch.setattr(hb, "_KTAU_MATRIX_MAX_N", 10)
    by_loop = hb._ktau_resamples(x, y, idx)
    assert np.isnan(by_matrix[-1]) and np.isnan(by_loop[-1])
    np.testing.assert_allclose(by_matrix[:-1], by_loop[:-1], rtol=0, atol=1e-12)
    for b in range(30):  # and each equals scipy on its own resample
        expected = stats.kendalltau(x[idx[b]], y[idx[b]], variant="b").statistic
        assert by_matrix[b] == pytest.approx(expected, abs=1e-12)


# ----------------------------------------------------------------------------- bootstrap_report
def test_bootstrap_report_shape_and_estimates():
    x, y = _tied_data(200, seed=3)
    rep = hs.bootstrap_report(x, y, n_boot=200, unit="pair")
    assert list(rep.index) == list(hs.METRICS)
    assert list(rep.columns) == ["estimate", "lo", "hi", "n", "n_boot_valid", "resampled"]
    assert (rep["resampled"] == "pairs").all()
    point = hs.correlation_report(x, y)
    for m in hs.METRICS:
        assert rep.loc[m, "estimate"] == pytest.approx(point[m])
        assert rep.loc[m, "lo"] < rep.loc[m, "estimate"] < rep.loc[m, "hi"]
    assert (rep["n"] == 200).all()
    assert (rep["n_boot_valid"] == 200).all()


def test_bootstrap_report_deterministic_with_seed():
    x, y = _tied_data(100, seed=4)
    a = hs.bootstrap_report(x, y, n_boot=100, seed=11, unit="pair")
    b = hs.bootstrap_report(x, y, n_boot=100, seed=11, unit="pair")
    c = hs.bootstrap_report(x, y, n_boot=100, seed=12, unit="pair")
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["lo"], c["lo"])


def test_bootstrap_report_metric_subset_and_argument_errors():
    x, y = _tied_data(50, seed=5)
    rep = hs.bootstrap_report(x, y, n_boot=50, metrics=("lcc", "mse"), unit="pair")
    assert list(rep.index) == ["lcc", "mse"]
    # MSE alone does not need variation in the predictor.
    rep = hs.bootstrap_report(np.zeros(50), y, n_boot=50, metrics=("mse",), unit="pair")
    assert rep.loc["mse", "estimate"] == pytest.approx(np.mean(y**2))
    with pytest.raises(ValueError, match="metrics: unknown"):
        hs.bootstrap_report(x, y, metrics=("auc",), unit="pair")
    with pytest.raises(ValueError, match="n_boot"):
        hs.bootstrap_report(x, y, n_boot=0, unit="pair")
    with pytest.raises(ValueError, match="ci"):
        hs.bootstrap_report(x, y, ci=95, unit="pair")


def test_bootstrap_counts_degenerate_resamples():
    # With 3 pairs, some resamples draw one pair three times: no correlation there.
    rep = hs.bootstrap_report([1.0, 2.0, 3.0], [1.0, 3.0, 2.0], n_boot=300, seed=0, unit="pair")
    assert 0 < rep.loc["lcc", "n_boot_valid"] < 300
    assert rep.loc["mse", "n_boot_valid"] == 300


def test_bootstrap_ci_coverage_bivariate_normal():
    """Percentile CIs of LCC and SRCC cover the true value in roughly 95% of datasets."""
    rho, n, n_sets = 0.6, 150, 200
    true_srcc = 6 / np.pi * np.arcsin(rho / 2)  # population Spearman of a bivariate normal
    rng = np.random.default_rng(123)
    cov = [[1.0, rho], [rho, 1.0]]
    hits = {"lcc": 0, "srcc": 0}
    for s in range(n_sets):
        xy = rng.multivariate_normal([0.0, 0.0], cov, size=n)
        rep = hs.bootstrap_report(
            xy[:, 0], xy[:, 1], n_boot=400, seed=s, metrics=("lcc", "srcc"), unit="pair"
        )
        hits["lcc"] += rep.loc["lcc", "lo"] <= rho <= rep.loc["lcc", "hi"]
        hits["srcc"] += rep.loc["srcc", "lo"] <= true_srcc <= rep.loc["srcc", "hi"]
    for m, h in hits.items():
        assert 0.88 <= h / n_sets <= 0.99, f"{m} coverage {h / n_sets:.3f}"


@pytest.mark.slow
def test_bootstrap_report_speed_n5000():
    x, y = _tied_data(5000, seed=6)
    start = time.perf_counter()
    rep = hs.bootstrap_report(x, y, n_boot=1000, unit="pair")
    elapsed = time.perf_counter() - start
    assert (rep["n_boot_valid"] == 1000).all()
    assert elapsed < 20.0, f"bootstrap_report took {elapsed:.1f} s"


# ----------------------------------------------------------------------------- paired_comparison
def test_paired_comparison_identical_predictors():
    x, y = _tied_data(100, seed=7)
    for m in hs.METRICS:
        res = hs.paired_comparison(x, x.copy(), y, metric=m, n_boot=200, unit="pair")
        assert res["diff"] == 0.0
        assert res["lo"] == 0.0 and res["hi"] == 0.0
        assert res["p_value"] == 1.0


def test_paired_comparison_strong_difference():
    x, y = _tied_data(300, seed=8, noise=0.5)
    rng = np.random.default_rng(0)
    worse = x + 2.0 * rng.normal(size=len(x))
    res = hs.paired_comparison(x, worse, y, metric="srcc", n_boot=500, unit="pair")
    a = hs.correlation_report(x, y)["srcc"]
    b = hs.correlation_report(worse, y)["srcc"]
    assert res["a"] == pytest.approx(a) and res["b"] == pytest.approx(b)
    assert res["diff"] == pytest.approx(b - a)
    assert res["hi"] < 0  # b is worse and the CI says so
    assert res["p_value"] == pytest.approx(2 / 501)  # the smallest p a 500-resample test gives
    # For MSE lower is better: the worse predictor has a positive diff.
    res_mse = hs.paired_comparison(
        x * 2 + 5, worse * 2 + 5, y, metric="mse", n_boot=300, unit="pair"
    )
    assert res_mse["diff"] > 0 and res_mse["lo"] > 0 and res_mse["p_value"] < 0.01


def test_paired_comparison_null_calibration():
    """Two equally good predictors: p < 0.05 in about 5% of datasets (not much more)."""
    rng = np.random.default_rng(99)
    n_sets, rejections = 100, 0
    for s in range(n_sets):
        truth = rng.normal(size=80)
        human = truth + rng.normal(size=80)
        a = truth + rng.normal(size=80)
        b = truth + rng.normal(size=80)
        res = hs.paired_comparison(a, b, human, metric="lcc", n_boot=300, seed=s, unit="pair")
        rejections += res["p_value"] < 0.05
    assert rejections / n_sets <= 0.13


def test_paired_comparison_errors():
    x, y = _tied_data(20, seed=9)
    with pytest.raises(ValueError, match="pred_b has 19 values"):
        hs.paired_comparison(x, x[:-1], y, unit="pair")
    with pytest.raises(ValueError, match="metric: unknown"):
        hs.paired_comparison(x, x, y, metric="r2", unit="pair")


# ----------------------------------------------------------------------------- grouped_report
def _pair_table() -> pd.DataFrame:
    rng = np.random.default_rng(10)
    rows = []
    for split, n in (("train", 120), ("test", 80), ("tiny", 5)):
        for source in ("audiocaps", "tango"):
            x = rng.normal(size=n)
            rows.append(
                pd.DataFrame(
                    {
                        "split": split,
                        "source": source,
                        "clap": x,
                        "mean_score": 5 + x + rng.normal(size=n),
                    }
                )
            )
    df = pd.concat(rows, ignore_index=True)
    const = pd.DataFrame(
        {"split": "const", "source": "tango", "clap": np.arange(12.0), "mean_score": 4.0}
    )
    nan_group = pd.DataFrame(
        {
            "split": None,
            "source": "tango",
            "clap": rng.normal(size=15),
            "mean_score": rng.normal(size=15),
        }
    )
    return pd.concat([df, const, nan_group], ignore_index=True)


def test_grouped_report_matches_per_group_bootstrap():
    df = _pair_table()
    out = hs.grouped_report(
        df, "clap", "mean_score", by=["split", "source"], n_boot=100, seed=3, unit="pair"
    )
    assert list(out.columns) == [
        "split",
        "source",
        "metric",
        "estimate",
        "lo",
        "hi",
        "n",
        "n_boot_valid",
        "valid",
        "note",
        "resampled",
    ]
    n_groups = df.groupby(["split", "source"], dropna=False).ngroups
    assert len(out) == n_groups * len(hs.METRICS)  # nothing dropped
    for (split, source), sub in df.dropna(subset=["split"]).groupby(["split", "source"]):
        rows = out[(out["split"] == split) & (out["source"] == source)].set_index("metric")
        if len(sub) < 10:
            assert not rows["valid"].any() and rows["estimate"].isna().all()
            assert rows["note"].str.contains("n < min_n").all()
            assert (rows["n"] == len(sub)).all()
        elif split == "const":
            assert not rows["valid"].any()
            assert rows["note"].str.contains("target: all 12 values equal").all()
        else:
            direct = hs.bootstrap_report(
                sub["clap"], sub["mean_score"], n_boot=100, seed=3, unit="pair"
            )
            pd.testing.assert_frame_equal(
                rows[["estimate", "lo", "hi", "n"]],
                direct[["estimate", "lo", "hi", "n"]],
                check_names=False,
            )
            assert rows["valid"].all() and (rows["note"] == "").all()
    nan_rows = out[out["split"].isna()]
    assert len(nan_rows) == len(hs.METRICS) and nan_rows["valid"].all()


def test_grouped_report_single_column_and_missing_column():
    df = _pair_table()
    out = hs.grouped_report(
        df, "clap", "mean_score", by="source", n_boot=50, metrics=("srcc",), unit="pair"
    )
    assert set(out["source"]) == {"audiocaps", "tango"}
    for source, sub in df.groupby("source"):
        est = out.loc[out["source"] == source, "estimate"].item()
        assert est == pytest.approx(stats.spearmanr(sub["clap"], sub["mean_score"]).statistic)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['nope'\]"):
        hs.grouped_report(df, "clap", "mean_score", by="nope", unit="pair")


def test_holm_and_bh_hand_computed() -> None:
    # Sorted finite p: 0.01, 0.03, 0.04, 0.2 (m = 4); NaN is outside the family.
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.2])
    # Holm: running max of (m - j + 1) p_(j): 0.04, max(0.04, 0.09), max(0.09, 0.08), 0.2.
    np.testing.assert_allclose(hs.holm(p)[[0, 2, 1, 4]], [0.04, 0.09, 0.09, 0.2])
    # BH: running min from the top of m p_(j) / j: 0.2, min(0.2, 0.0533), min(., 0.06), 0.04.
    q = hs.bh_qvalues(p)
    np.testing.assert_allclose(q[[0, 2, 1, 4]], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])
    assert np.isnan(hs.holm(p)[3]) and np.isnan(q[3])
    assert np.isnan(hs.bh_qvalues([np.nan, np.nan])).all()
    with pytest.raises(ValueError, match=r"p_values\[1\] = 1.5"):
        hs.bh_qvalues([0.1, 1.5])


def test_seed_comparison_point_values_and_reference() -> None:
    rng = np.random.default_rng(0)
    human = rng.normal(size=200)
    good = np.stack([human + rng.normal(0, 0.5, 200) for _ in range(3)])
    bad = np.stack([human + rng.normal(0, 3.0, 200) for _ in range(3)])
    out = hs.seed_comparison(
        {"bad": bad, "good": good}, human, reference="bad", n_boot=300, unit="pair"
    )
    rows = out.set_index("name")
    expected = np.mean([stats.spearmanr(g, human).statistic for g in good])
    assert rows.loc["good", "mean"] == pytest.approx(expected)
    sd = np.std([stats.spearmanr(g, human).statistic for g in good], ddof=1)
    assert rows.loc["good", "sd"] == pytest.approx(sd)
    assert rows.loc["good", "diff"] == pytest.approx(expected - rows.loc["bad", "mean"])
    assert rows.loc["good", "diff_lo"] > 0 and rows.loc["good", "significant"]
    assert rows.loc["good", "lo"] <= rows.loc["good", "mean"] <= rows.loc["good", "hi"]
    assert np.isnan(rows.loc["bad", "p_value"]) and rows.loc["bad", "diff"] == 0


@pytest.mark.slow
def test_seed_comparison_false_positive_rate() -> None:
    """Two recipes with the same distribution: at most a nominal share of 5% tests reject."""
    rejections = 0
    reps = 60
    for r in range(reps):
        rng = np.random.default_rng(100 + r)
        human = rng.normal(size=150)
        runs = np.stack([human + rng.normal(0, 1.0, 150) for _ in range(6)])
        out = hs.seed_comparison(
            {"a": runs[:3], "b": runs[3:]}, human, "a", n_boot=200, seed=r, unit="pair"
        )
        rejections += bool(out.set_index("name").loc["b", "p_value"] < 0.05)
    assert rejections / reps <= 0.1


def test_seed_comparison_errors() -> None:
    human = np.arange(10.0)
    with pytest.raises(ValueError, match="reference"):
        hs.seed_comparison({"a": human}, human, "b", unit="pair")
    with pytest.raises(ValueError, match=r"preds\['a'\]: expected shape"):
        hs.seed_comparison({"a": np.ones((2, 9))}, human, "a", unit="pair")


# ----------------------------------------------------------------------------- caption resampling
def _clustered(
    n_captions: int, size: int, shared: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs in captions of ``size`` pairs each; ``shared`` is the SD of a caption effect that
    the predictor and the human score of its pairs share (0: independent pairs).

    Returns pred, target, captions, each shape (n_captions * size,).
    """
    rng = np.random.default_rng(seed)
    caption = np.repeat(np.arange(n_captions), size)
    effect = shared * rng.normal(size=n_captions)[caption]
    x = effect + rng.normal(size=len(caption))
    y = effect + 0.5 * x + rng.normal(size=len(caption))
    return x, y, np.array([f"caption {c}" for c in caption], dtype=object)


def _expanded(draws: np.ndarray, captions: np.ndarray) -> np.ndarray:
    """Pair indices of the captions ``draws`` (codes in order of first appearance)."""
    codes, _ = pd.factorize(captions)
    return np.concatenate([np.flatnonzero(codes == c) for c in draws])


def test_caption_resampling_needs_clusters_and_says_its_unit():
    x, y, captions = _clustered(30, 3, 0.0, seed=1)
    with pytest.raises(ValueError, match=r"clusters: unit='caption' \(the default\)"):
        hs.bootstrap_report(x, y, n_boot=10)
    with pytest.raises(ValueError, match=r"clusters: expected shape \(90,\)"):
        hs.bootstrap_report(x, y, n_boot=10, clusters=captions[:-1])
    bad = captions.copy()
    bad[[4, 7]] = None
    with pytest.raises(ValueError, match=r"clusters: 2 missing label\(s\) \(positions 4, 7\)"):
        hs.paired_comparison(x, y, y, n_boot=10, clusters=bad)
    with pytest.raises(ValueError, match="unit: expected one of"):
        hs.bootstrap_report(x, y, n_boot=10, clusters=captions, unit="clip")
    rep = hs.bootstrap_report(x, y, n_boot=10, clusters=captions)
    assert (rep["resampled"] == "captions").all()
    assert hs.paired_comparison(x, y, y, n_boot=10, clusters=captions)["resampled"] == "captions"
    df = pd.DataFrame({"clap": x, "mean_score": y, "source": "a"})
    with pytest.raises(ValueError, match="clusters: unit='caption' needs the column"):
        hs.grouped_report(df, "clap", "mean_score", by="source", n_boot=10)


def test_captions_of_one_pair_each_are_the_pair_bootstrap_exactly():
    """Clusters of size 1 draw the same random numbers as the pair bootstrap: equal results."""
    x, y = _tied_data(80, seed=12)
    z = x + np.random.default_rng(0).normal(size=80)
    alone = np.array([f"c{i}" for i in range(80)], dtype=object)
    by_caption = hs.bootstrap_report(x, y, n_boot=200, seed=5, clusters=alone)
    by_pair = hs.bootstrap_report(x, y, n_boot=200, seed=5, unit="pair")
    pd.testing.assert_frame_equal(
        by_caption.drop(columns="resampled"), by_pair.drop(columns="resampled")
    )
    a = hs.paired_comparison(x, z, y, n_boot=200, seed=5, clusters=alone)
    b = hs.paired_comparison(x, z, y, n_boot=200, seed=5, unit="pair")
    assert {k: v for k, v in a.items() if k != "resampled"} == {
        k: v for k, v in b.items() if k != "resampled"
    }
    groups = np.where(np.arange(80) % 2 == 0, "even", "odd")
    w_caption = hs.within_between(z, y, groups, n_boot=50, seed=5, clusters=alone)
    w_pair = hs.within_between(z, y, groups, n_boot=50, seed=5, unit="pair")
    pd.testing.assert_frame_equal(
        w_caption.drop(columns="resampled"), w_pair.drop(columns="resampled")
    )
    assert set(w_caption["resampled"]) == {"captions"} and set(w_pair["resampled"]) == {"pairs"}


def test_caption_resamples_equal_scipy_on_the_expanded_captions():
    """Each caption resample (captions of 1-4 pairs, ties) equals scipy on its pairs."""
    rng = np.random.default_rng(21)
    sizes = rng.integers(1, 5, size=25)
    captions = np.repeat([f"c{i}" for i in range(25)], sizes).astype(object)
    x, y = _tied_data(len(captions), seed=22)
    units = hb._unit_codes(len(y), captions, "caption")
    assert units[1] == 25
    n_boot, seed = 30, 4
    boot = hb._boot_distributions([x], y, hs.METRICS, n_boot, seed, units)[0]
    draws = np.random.default_rng(seed).integers(0, 25, size=(n_boot, 25))
    sampler = hb._unit_index_sampler(*units)
    sampler_rng = np.random.default_rng(seed)
    for b in range(n_boot):
        idx = _expanded(draws[b], captions)
        np.testing.assert_array_equal(sampler(sampler_rng), idx)  # the same resample by indices
        p, h = x[idx], y[idx]
        assert boot["srcc"][b] == pytest.approx(stats.spearmanr(p, h).statistic, abs=1e-10)
        assert boot["lcc"][b] == pytest.approx(stats.pearsonr(p, h).statistic, abs=1e-10)
        assert boot["ktau"][b] == pytest.approx(stats.kendalltau(p, h).statistic, abs=1e-12)
        assert boot["mse"][b] == pytest.approx(np.mean((p - h) ** 2), rel=1e-12)


def test_caption_bootstrap_of_three_captions_matches_its_exact_distribution():
    """Three captions (1, 2 and 3 pairs): the 27 equally likely draws give the MSE's exact
    bootstrap distribution, sum of the drawn captions' squared errors over their pairs."""
    captions = np.array(["a", "b", "b", "c", "c", "c"], dtype=object)
    pred = np.array([1.0, 2.0, 0.0, 4.0, 1.0, 3.0])
    target = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    sq = (pred - target) ** 2  # a: 1; b: 4 + 0; c: 9 + 0 + 4
    total, size = np.array([1.0, 4.0, 13.0]), np.array([1.0, 2.0, 3.0])
    exact: dict[float, float] = {}
    for draw in np.ndindex(3, 3, 3):
        value = round(total[list(draw)].sum() / size[list(draw)].sum(), 12)
        exact[value] = exact.get(value, 0.0) + 1 / 27
    n_boot = 20_000
    units = hb._unit_codes(6, captions, "caption")
    boot = hb._boot_distributions([pred], target, ("mse",), n_boot, 0, units)[0]["mse"]
    values, counts = np.unique(np.round(boot, 12), return_counts=True)
    assert set(values) <= set(exact)  # every resample is one of the enumerated ones
    for value, count in zip(values, counts, strict=True):
        prob = exact[value]
        assert abs(count / n_boot - prob) < 5 * np.sqrt(prob * (1 - prob) / n_boot)
    mean = sum(v * q for v, q in exact.items())
    assert boot.mean() == pytest.approx(mean, abs=5 * boot.std() / np.sqrt(n_boot))
    assert sq.mean() == pytest.approx(hs.bootstrap_report(
        pred, target, metrics=("mse",), n_boot=10, clusters=captions
    ).loc["mse", "estimate"])  # fmt: skip


def test_caption_intervals_match_pairs_on_independent_data_and_widen_with_a_shared_effect():
    n_boot = 1000
    widths = {}
    for shared in (0.0, 1.5):
        x, y, captions = _clustered(200, 3, shared, seed=31)
        by = {
            unit: hs.bootstrap_report(
                x, y, n_boot=n_boot, seed=2, clusters=captions, unit=unit, metrics=("srcc",)
            ).loc["srcc"]
            for unit in ("caption", "pair")
        }
        widths[shared] = {u: r["hi"] - r["lo"] for u, r in by.items()}
    # Independent pairs: the two widths agree within Monte Carlo error (about 5% at 1000).
    ratio = widths[0.0]["caption"] / widths[0.0]["pair"]
    assert 0.88 < ratio < 1.12
    # A caption effect shared by the pairs of a caption: the pair bootstrap is too narrow.
    assert widths[1.5]["caption"] / widths[1.5]["pair"] > 1.12


def test_seed_comparison_resamples_caption_clusters():
    """One seed per recipe: the two-level bootstrap is the caption bootstrap of the difference."""
    x, y, captions = _clustered(60, 3, 1.0, seed=41)
    z = x + np.random.default_rng(1).normal(size=len(x))
    out = hs.seed_comparison({"a": x, "b": z}, y, "a", n_boot=300, seed=9, clusters=captions)
    row = out.set_index("name").loc["b"]
    direct = hs.paired_comparison(x, z, y, n_boot=300, seed=9, clusters=captions)
    assert (row["diff_lo"], row["diff_hi"], row["p_value"]) == (
        direct["lo"], direct["hi"], direct["p_value"]
    )  # fmt: skip
    assert set(out["resampled"]) == {"captions"}
    with pytest.raises(ValueError, match="clusters: unit='caption'"):
        hs.seed_comparison({"a": x, "b": z}, y, "a", n_boot=10)


def test_grouped_report_resamples_each_groups_captions():
    x, y, captions = _clustered(40, 3, 1.0, seed=51)
    df = pd.DataFrame({"clap": x, "mean_score": y, "text": captions})
    df["source"] = np.where(np.arange(len(df)) % 3 == 0, "natural", "synthesized")
    out = hs.grouped_report(df, "clap", "mean_score", by="source", n_boot=100, seed=3)
    assert set(out["resampled"]) == {"captions"}
    for source, sub in df.groupby("source"):
        rows = out[out["source"] == source].set_index("metric")
        direct = hs.bootstrap_report(
            sub["clap"], sub["mean_score"], n_boot=100, seed=3, clusters=sub["text"]
        )
        pd.testing.assert_frame_equal(
            rows[["estimate", "lo", "hi", "n"]], direct[["estimate", "lo", "hi", "n"]],
            check_names=False,
        )  # fmt: skip
