"""Model-vs-human disagreement: calibrated residuals, the cell model, standardised effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from humanclap import stats as hs


def _ratings(seed: int = 0, n_pairs: int = 300, k: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    pairs = pd.DataFrame(
        {
            "wavname": [f"/s/{i}.wav" for i in range(n_pairs)],
            "text": [f"caption {i // 3}" for i in range(n_pairs)],
            "clapscore": rng.uniform(0.0, 0.6, n_pairs),
        }
    )
    rows = pairs.loc[pairs.index.repeat(k)].reset_index(drop=True)
    rows["listener_id"] = rng.integers(0, 40, len(rows)).astype(str)
    rows["score"] = 2 + 10 * rows["clapscore"] + rng.normal(0, 1, len(rows))
    return rows.drop(columns="clapscore"), pairs


def test_calibrated_residuals_match_least_squares() -> None:
    ratings, pairs = _ratings()
    out = hs.calibrated_residuals(ratings, pairs)
    fit = sps.linregress(out["clapscore"], out["score"])
    assert out.attrs["slope"] == pytest.approx(fit.slope, rel=1e-9)
    assert out.attrs["intercept"] == pytest.approx(fit.intercept, rel=1e-9)
    np.testing.assert_allclose(
        out["residual"], out["score"] - fit.intercept - fit.slope * out["clapscore"], atol=1e-9
    )
    assert out["residual"].mean() == pytest.approx(0.0, abs=1e-9)
    assert list(out.index) == list(ratings.index) and len(out) == len(ratings)


def test_calibrated_residuals_refuse_unscored_pairs_and_duplicates() -> None:
    ratings, pairs = _ratings()
    with pytest.raises(ValueError, match="have no 'clapscore'"):
        hs.calibrated_residuals(ratings, pairs.iloc[1:])
    with pytest.raises(ValueError, match="occurs twice"):
        hs.calibrated_residuals(ratings, pd.concat([pairs, pairs.iloc[:1]]))
    bad = pairs.copy()
    bad.loc[5, "clapscore"] = np.nan
    with pytest.raises(ValueError, match="rows \\[5\\]"):
        hs.calibrated_residuals(ratings, bad)


def test_cell_model_recovers_planted_cell_means() -> None:
    rng = np.random.default_rng(1)
    truth = {("a", "x"): 1.0, ("a", "y"): -0.5, ("b", "x"): 0.0, ("b", "y"): 2.0}
    listener_bias = rng.normal(0, 0.7, 60)
    rows = []
    for (src, cat), mean in truth.items():
        for _ in range(400):
            lid = rng.integers(0, 60)
            rows.append((src, cat, str(lid), mean + listener_bias[lid] + rng.normal(0, 1)))
    rows += [("c", "x", "0", 5.0)] * 3  # a cell below min_n
    df = pd.DataFrame(rows, columns=["source", "category", "listener_id", "residual"])
    out = hs.cell_model(df, min_n=20)
    assert len(out) == 5
    small = out[out["source"] == "c"].iloc[0]
    assert np.isnan(small["coef"]) and "not fitted" in small["note"] and small["n"] == 3
    fitted = out.dropna(subset=["coef"])
    for row in fitted.itertuples():
        target = truth[(row.source, row.category)]
        # the listener intercepts' mean is absorbed in the cell means: compare differences
        assert row.ci_lo - 0.3 < target + listener_bias.mean() < row.ci_hi + 0.3
    est = fitted.set_index(["source", "category"])["coef"]
    assert est[("b", "y")] - est[("a", "y")] == pytest.approx(2.5, abs=0.2)
    assert 0.2 < out.attrs["group_share"] < 0.5


def test_cell_gaps_match_statsmodels_contrasts() -> None:
    rng = np.random.default_rng(2)
    truth = {("nat", "x"): 6.0, ("nat", "y"): 5.0, ("sys", "x"): 3.0, ("sys", "y"): 5.0}
    bias = rng.normal(0, 0.5, 40)
    rows = [
        (src, ev, str(lid), mean + bias[lid] + rng.normal(0, 1))
        for (src, ev), mean in truth.items()
        for lid in rng.integers(0, 40, 300)
    ]
    rows += [("sys", "z", "0", 1.0)] * 3  # not fitted: no gap
    df = pd.DataFrame(rows, columns=["source", "event", "listener_id", "score"])
    cells = hs.cell_model(df, cells=("source", "event"), response="score", min_n=20)
    gaps = hs.cell_gaps(cells, reference="nat").set_index("event")
    assert list(gaps.index) == ["x", "y"]
    result = cells.attrs["result"]
    names = list(result.fe_params.index)
    for event in ("x", "y"):
        contrast = np.zeros(len(result.fe_params))
        contrast[names.index(f"C(cell)[sys | {event}]")] = 1.0
        contrast[names.index(f"C(cell)[nat | {event}]")] = -1.0
        test = result.t_test(contrast[None, :])
        assert gaps.loc[event, "gap"] == pytest.approx(float(np.squeeze(test.effect)))
        assert gaps.loc[event, "se"] == pytest.approx(float(np.squeeze(test.sd)))
    assert gaps.loc["x", "gap"] == pytest.approx(-3.0, abs=0.3)
    assert gaps.loc["x", "q"] < 0.001 and gaps.loc["y", "p"] > 0.01
    np.testing.assert_allclose(gaps["q"], hs.bh_qvalues(gaps["p"].to_numpy()))
    with pytest.raises(ValueError, match="reference: 'tango'"):
        hs.cell_gaps(cells, reference="tango")


def test_standardized_effects_hand_computed() -> None:
    df = pd.DataFrame({"h": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "m": [1.0, 1.0, 2.0, 2.0, 3.0, 9.0]})
    base = np.array([False, False, False, False, True, True])
    cond = {"low": np.array([True, True, False, False, False, False])}
    out = hs.standardized_effects(df, ["h", "m"], cond, base, n_boot=200, seed=0, unit="pair")
    zh = (df.h - df.h.mean()) / df.h.std()
    zm = (df.m - df.m.mean()) / df.m.std()
    h = out[out.col == "h"].iloc[0]
    m = out[out.col == "m"].iloc[0]
    assert h.effect == pytest.approx(zh[:2].mean() - zh[4:].mean())
    assert m.effect == pytest.approx(zm[:2].mean() - zm[4:].mean())
    assert h.lo <= h.effect <= h.hi and h.n == 2
    assert out.attrs["n_baseline"] == 2 and set(out["resampled"]) == {"pairs"}


def test_standardized_effects_resample_captions() -> None:
    """Caption resampling: each resample's effect is the weighted mean over the drawn captions'
    rows (condition and baseline rows of a caption drawn together), by explicit expansion."""
    rng = np.random.default_rng(3)
    text = np.repeat([f"c{i}" for i in range(12)], 3)
    df = pd.DataFrame({"h": rng.normal(size=36), "text": text})
    cond = {"bad": np.tile([False, True, False], 12)}
    base = np.tile([False, False, True], 12)
    out = hs.standardized_effects(df, ["h"], cond, base, n_boot=300, seed=4)
    z = ((df.h - df.h.mean()) / df.h.std()).to_numpy()
    draws = np.random.default_rng(4).integers(0, 12, size=(300, 12))
    boot = []
    for d in draws:
        rows = np.concatenate([np.arange(3 * c, 3 * c + 3) for c in d])
        boot.append(z[rows][cond["bad"][rows]].mean() - z[rows][base[rows]].mean())
    lo, hi = np.quantile(boot, [0.025, 0.975])
    row = out.iloc[0]
    assert (row.lo, row.hi) == (pytest.approx(lo), pytest.approx(hi))
    assert row.resampled == "captions"
    with pytest.raises(ValueError, match="clusters: unit='caption' needs the column"):
        hs.standardized_effects(df.drop(columns="text"), ["h"], cond, base, n_boot=10)


def test_standardized_effects_errors() -> None:
    df = pd.DataFrame({"h": [0.0, 1.0, 2.0], "c": [1.0, 1.0, 1.0]})
    ok = np.array([True, True, False])
    with pytest.raises(ValueError, match="constant"):
        hs.standardized_effects(df, ["c"], {}, ok, unit="pair")
    with pytest.raises(ValueError, match="shape"):
        hs.standardized_effects(df, ["h"], {"x": [True]}, ok, unit="pair")
    with pytest.raises(ValueError, match="baseline: 1 row"):
        hs.standardized_effects(df, ["h"], {}, np.array([True, False, False]), unit="pair")
    out = hs.standardized_effects(
        df, ["h"], {"one": np.array([False, False, True])}, ok, unit="pair"
    )
    assert np.isnan(out.effect.iloc[0]) and out.note.iloc[0] == "1 row(s)"
