"""Tests of humanclap.stats: hand-computed ANOVA, textbook values, statsmodels, simulation."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from humanclap import stats


# ----------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def rel_ratings(relate_dir: Path) -> pd.DataFrame:
    """Screened REL ratings read directly with pandas (independent of humanclap.data)."""
    df = pd.read_csv(relate_dir / "scores" / "REL.csv", dtype={"listener_id": str})
    df = df[df["in RELATE dataset"] != "excluded"].copy()
    df["source"] = df["wavname"].str.split("/").str[1]
    df["split"] = df["in RELATE dataset"]
    return df.reset_index(drop=True)


def _long(table: dict[str, list[float]]) -> pd.DataFrame:
    """Long rating table from {pair name: [scores]}, one listener id per rating."""
    rows = [
        {"wavname": f"/audiocaps/test/{p}.wav", "text": "t", "score": s, "listener_id": f"{p}{j}"}
        for p, scores in table.items()
        for j, s in enumerate(scores)
    ]
    return pd.DataFrame(rows)


def _simulate(
    n_i: np.ndarray, icc1: float, seed: int, total_var: float = 4.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Ratings y = mu_i + e with var(mu) / (var(mu) + var(e)) = icc1; returns (ratings, mu)."""
    rng = np.random.default_rng(seed)
    var_pair, var_within = icc1 * total_var, (1 - icc1) * total_var
    mu = 5 + np.sqrt(var_pair) * rng.normal(size=len(n_i))
    codes = np.repeat(np.arange(len(n_i)), n_i)
    y = mu[codes] + np.sqrt(var_within) * rng.normal(size=len(codes))
    df = pd.DataFrame(
        {
            "wavname": [f"w{c}" for c in codes],
            "text": "t",
            "score": y,
            "listener_id": rng.integers(0, 200, size=len(codes)).astype(str),
        }
    )
    return df, mu


# ----------------------------------------------------------------------------- reliability
def test_reliability_hand_computed_three_pairs():
    # Pair A: 2, 4   Pair B: 5, 6, 7   Pair C: 9 (a single rating)
    df = _long({"A": [2, 4], "B": [5, 6, 7], "C": [9]})
    res = stats.reliability(df)
    # N = 6, a = 3, grand mean = 33 / 6 = 5.5; pair means 3, 6, 9
    ssb = 2 * (3 - 5.5) ** 2 + 3 * (6 - 5.5) ** 2 + 1 * (9 - 5.5) ** 2  # 12.5 + 0.75 + 12.25
    ssw = (1 + 1) + (1 + 0 + 1) + 0  # C contributes nothing within
    msb, msw = ssb / (3 - 1), ssw / (6 - 3)  # 12.75, 4/3
    k0 = (6 - (2**2 + 3**2 + 1**2) / 6) / (3 - 1)  # 11/6
    icc1 = (msb - msw) / (msb + (k0 - 1) * msw)
    k_hm = 3 / (1 / 2 + 1 / 3 + 1)  # 18/11
    assert ssb == 25.5 and ssw == 4
    assert res["msb"] == pytest.approx(msb) and res["msw"] == pytest.approx(msw)
    assert res["k0"] == pytest.approx(11 / 6) and res["k_hm"] == pytest.approx(18 / 11)
    assert res["icc1"] == pytest.approx(icc1)
    assert res["icck"] == pytest.approx((msb - msw) / msb)
    assert res["icc_mean"] == pytest.approx(k_hm * icc1 / (1 + (k_hm - 1) * icc1))
    assert res["ceiling_lcc"] == pytest.approx(np.sqrt(res["icc_mean"]))
    assert res["ceiling_lcc_k0"] == pytest.approx(np.sqrt(res["icck"]))
    assert (res["n_ratings"], res["n_pairs"], res["n_single"]) == (6, 3, 1)
    assert (res["df_between"], res["df_within"]) == (2, 3)
    assert res["f"] == pytest.approx(msb / msw)
    assert res["f_p"] == pytest.approx(sps.f.sf(msb / msw, 2, 3))
    # Excluding the single-rating pair: A and B only; N = 5, grand mean 24 / 5.
    ex = stats.reliability(df, min_ratings=2)
    assert (ex["n_pairs"], ex["n_pairs_excluded"], ex["n_ratings_excluded"]) == (2, 1, 1)
    assert ex["msb"] == pytest.approx(2 * (3 - 4.8) ** 2 + 3 * (6 - 4.8) ** 2)
    assert ex["msw"] == pytest.approx(4 / 3)


def test_reliability_shrout_fleiss_textbook():
    """Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; ICC(1,1) = .17, ICC(1,4) = .44."""
    table = np.array(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
        dtype=float,
    )
    df = _long({f"t{i}": list(row) for i, row in enumerate(table)})
    res = stats.reliability(df)
    assert res["k0"] == pytest.approx(4.0)
    assert res["k_hm"] == pytest.approx(4.0)
    # Balanced textbook formulas
    n, k = table.shape
    msb = k * np.var(table.mean(axis=1), ddof=1)
    msw = np.sum((table - table.mean(axis=1, keepdims=True)) ** 2) / (n * (k - 1))
    assert res["msb"] == pytest.approx(msb) and res["msw"] == pytest.approx(msw)
    assert res["icc1"] == pytest.approx((msb - msw) / (msb + (k - 1) * msw))
    assert res["icck"] == pytest.approx((msb - msw) / msb)
    assert res["icc_mean"] == pytest.approx(res["icck"])  # balanced: k_hm = k0 = k
    assert round(res["icc1"], 2) == 0.17 and round(res["icck"], 2) == 0.44
    # CI bounds (McGraw & Wong case 1) bracket the estimates and are ordered
    assert res["icc1_lo"] < res["icc1"] < res["icc1_hi"]
    assert res["icck_lo"] < res["icck"] < res["icck_hi"]
    assert res["ceiling_lcc_lo"] <= res["ceiling_lcc"] <= res["ceiling_lcc_hi"]


def test_reliability_matches_statsmodels_anova():
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm

    df, _ = _simulate(np.random.default_rng(5).integers(1, 7, size=60), icc1=0.4, seed=5)
    res = stats.reliability(df)
    aov = anova_lm(ols("score ~ C(wavname)", data=df).fit())
    assert res["msb"] == pytest.approx(aov.loc["C(wavname)", "mean_sq"], rel=1e-10)
    assert res["msw"] == pytest.approx(aov.loc["Residual", "mean_sq"], rel=1e-10)
    assert res["df_between"] == aov.loc["C(wavname)", "df"]
    assert res["df_within"] == aov.loc["Residual", "df"]
    assert res["f"] == pytest.approx(aov.loc["C(wavname)", "F"], rel=1e-10)


def test_reliability_icck_identity_unbalanced():
    df, _ = _simulate(np.random.default_rng(1).integers(1, 9, size=200), icc1=0.3, seed=1)
    res = stats.reliability(df)
    k0, icc1 = res["k0"], res["icc1"]
    assert res["icck"] == pytest.approx(k0 * icc1 / (1 + (k0 - 1) * icc1))
    assert res["icck"] == pytest.approx((res["msb"] - res["msw"]) / res["msb"])


def test_reliability_ci_coverage_balanced():
    """The F-based CI of ICC(1,1) is exact for balanced normal data: ~95% coverage."""
    true_icc, n_sets, hits1, hitsk = 0.4, 300, 0, 0
    k = 4
    true_icck = k * true_icc / (1 + (k - 1) * true_icc)
    for s in range(n_sets):
        df, _ = _simulate(np.full(30, k), icc1=true_icc, seed=1000 + s)
        res = stats.reliability(df)
        hits1 += res["icc1_lo"] <= true_icc <= res["icc1_hi"]
        hitsk += res["icck_lo"] <= true_icck <= res["icck_hi"]
    assert 0.91 <= hits1 / n_sets <= 0.985
    assert hits1 == hitsk  # the two intervals are monotone maps of the same F bounds


def test_ceiling_uses_harmonic_mean_of_ratings_per_pair():
    """corr(true pair effect, observed pair mean) ~ ceiling_lcc, not the k0-based ceiling."""
    rng = np.random.default_rng(2)
    n_i = rng.choice([1, 8], size=4000)  # k0 ~ 4.5, harmonic mean ~ 1.8
    df, mu = _simulate(n_i, icc1=0.3, seed=2)
    res = stats.reliability(df)
    means = df.groupby("wavname", sort=False)["score"].mean()
    mu_by_name = pd.Series(mu, index=[f"w{i}" for i in range(len(mu))])
    empirical = np.corrcoef(mu_by_name.loc[means.index], means)[0, 1]
    assert res["ceiling_lcc"] == pytest.approx(empirical, abs=0.025)
    assert res["ceiling_lcc_k0"] - empirical > 0.1
    assert res["ceiling_lcc_lo"] < empirical + 0.025 and res["ceiling_lcc_hi"] > empirical - 0.025


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.drop(columns="text"), r"missing column\(s\) \['text'\]"),
        (
            lambda d: d.assign(score=[1.0, np.nan, 3.0, 4.0, 5.0, np.nan]),
            r"ratings\['score'\]: 2 NaN/inf value\(s\), rows \[1, 5\]",
        ),
        (lambda d: d.assign(score=list("abcdef")), "not numeric"),
        (lambda d: d.assign(wavname=["x", None, "x", "y", "y", "y"]), r"'wavname'\]: 1 missing"),
        (lambda d: d.assign(wavname="same"), "at least 2 pairs"),
        (lambda d: d.assign(wavname=[str(i) for i in range(6)]), "single rating"),
        (lambda d: d.assign(score=[3.0, 3.0, 5.0, 5.0, 5.0, 1.0]), "no within-pair variance"),
    ],
)
def test_reliability_errors(mutate, match):
    df = _long({"A": [2, 4], "B": [5, 6, 7], "C": [9]})
    with pytest.raises(ValueError, match=match):
        stats.reliability(mutate(df))


def test_reliability_by_matches_subsets():
    df, _ = _simulate(np.random.default_rng(3).integers(1, 6, size=300), icc1=0.5, seed=3)
    df["split"] = np.where(df["wavname"].str[1:].astype(int) < 200, "train", "test")
    tiny = _long({"Z": [3.0, 4.0]}).assign(split="tiny")  # one pair: no ANOVA possible
    df = pd.concat([df, tiny], ignore_index=True)
    out = stats.reliability_by(df, "split")
    assert list(out["split"]) == ["test", "tiny", "train"]
    for split in ("train", "test"):
        row = out.set_index("split").loc[split]
        direct = stats.reliability(df[df["split"] == split])
        for key, value in direct.items():
            assert row[key] == pytest.approx(value)
        assert row["note"] == ""
    tiny_row = out.set_index("split").loc["tiny"]
    assert np.isnan(tiny_row["icc1"]) and "at least 2 pairs" in tiny_row["note"]
    assert tiny_row["n_ratings"] == 2


# ----------------------------------------------------------------------------- split-half
def _split_half_loop(df: pd.DataFrame, n_splits: int, seed: int) -> float:
    """Slow reference: mean Spearman-Brown split-half over random splits (own RNG)."""
    rng = np.random.default_rng(seed)
    groups = [g.to_numpy() for _, g in df.groupby("wavname")["score"] if len(g) >= 2]
    values = []
    for _ in range(n_splits):
        a, b = [], []
        for g in groups:
            g = rng.permutation(g)
            a.append(g[: len(g) // 2].mean())
            b.append(g[len(g) // 2 :].mean())
        r = np.corrcoef(a, b)[0, 1]
        values.append(2 * r / (1 + r))
    return float(np.mean(values))


def test_split_half_agrees_with_loop_and_anova():
    n_i = np.random.default_rng(4).integers(1, 7, size=400)
    df, _ = _simulate(n_i, icc1=0.4, seed=4)
    res = stats.split_half(df, n_splits=200, seed=0)
    assert res["n_pairs"] == int(np.sum(n_i >= 2))
    assert res["n_pairs_excluded"] == int(np.sum(n_i == 1))
    assert res["n_ratings"] == int(n_i[n_i >= 2].sum())
    assert res["lo"] <= res["mean"] <= res["hi"] and res["sd"] > 0
    assert res["mean"] == pytest.approx(2 * res["r_half_mean"] / (1 + res["r_half_mean"]), abs=0.01)
    reference = _split_half_loop(df, n_splits=100, seed=1)
    assert res["mean"] == pytest.approx(reference, abs=4 * res["sd"] / np.sqrt(100) + 0.005)
    anova = stats.reliability(df, min_ratings=2)["icc_mean"]
    assert res["mean"] == pytest.approx(anova, abs=0.06)


def test_split_half_balanced_even_matches_icck():
    """Balanced k=4 (equal halves): Spearman-Brown split-half estimates ICC(1,4)."""
    df, _ = _simulate(np.full(3000, 4), icc1=0.35, seed=6)
    res = stats.split_half(df, n_splits=50, seed=1)
    assert res["mean"] == pytest.approx(stats.reliability(df)["icck"], abs=0.02)


def test_split_half_deterministic_and_errors():
    df, _ = _simulate(np.full(50, 3), icc1=0.5, seed=7)
    assert stats.split_half(df, 20, seed=3) == stats.split_half(df, 20, seed=3)
    assert stats.split_half(df, 20, seed=3)["mean"] != stats.split_half(df, 20, seed=4)["mean"]
    with pytest.raises(ValueError, match="n_splits"):
        stats.split_half(df, n_splits=0)
    with pytest.raises(ValueError, match="at least 3 pairs"):
        stats.split_half(_long({"A": [1, 2], "B": [3, 4], "C": [5]}))


# ----------------------------------------------------------------------------- listener_bias
def test_listener_bias_hand_example():
    df = pd.DataFrame(
        {
            "wavname": ["P1", "P1", "P1", "P2", "P2", "P3"],
            "text": "t",
            "score": [2, 4, 6, 5, 5, 7],
            "listener_id": ["a", "b", "c", "a", "b", "c"],
        }
    )
    out = stats.listener_bias(df)
    assert list(out.index) == ["a", "b", "c"]
    # a: P1 others (4 + 6) / 2 = 5 -> -3; P2 others 5 -> 0
    assert out.loc["a", "mean_dev"] == pytest.approx(-1.5)
    assert out.loc["a", "se_dev"] == pytest.approx(np.std([-3, 0], ddof=1) / np.sqrt(2))
    assert out.loc["a", "z_dev"] == pytest.approx(-1.5 / out.loc["a", "se_dev"])
    # b: P1 others (2 + 6) / 2 = 4 -> 0; P2 others 5 -> 0
    assert out.loc["b", "mean_dev"] == pytest.approx(0.0) and out.loc["b", "se_dev"] == 0
    # c: P1 others (2 + 4) / 2 = 3 -> +3; P3 has no other rater
    assert (out.loc["c", "n_ratings"], out.loc["c", "n_used"]) == (2, 1)
    assert out.loc["c", "mean_dev"] == pytest.approx(3.0) and np.isnan(out.loc["c", "se_dev"])
    assert out.loc["c", "mean_score"] == pytest.approx(6.5)
    assert out["r_others"].isna().all()  # nobody has 3 usable ratings


def test_listener_bias_matches_loop_and_recovers_bias():
    rng = np.random.default_rng(8)
    n_listeners, n_pairs = 60, 300
    bias = rng.normal(scale=1.0, size=n_listeners)
    mu = rng.normal(5, 2, size=n_pairs)
    rows = []
    for p in range(n_pairs):
        for lst in rng.choice(n_listeners, size=rng.integers(1, 6), replace=False):
            rows.append(
                {
                    "wavname": f"w{p}",
                    "text": "t",
                    "listener_id": f"L{lst:02d}",
                    "score": mu[p] + bias[lst] + rng.normal(),
                }
            )
    df = pd.DataFrame(rows)
    out = stats.listener_bias(df)
    # Loop reference
    for lst, sub in df.groupby("listener_id"):
        devs, xs, ms = [], [], []
        for _, row in sub.iterrows():
            others = df[(df["wavname"] == row["wavname"]) & (df["listener_id"] != lst)]["score"]
            if len(others):
                devs.append(row["score"] - others.mean())
                xs.append(row["score"])
                ms.append(others.mean())
        assert out.loc[lst, "n_used"] == len(devs)
        assert out.loc[lst, "mean_dev"] == pytest.approx(np.mean(devs))
        assert out.loc[lst, "se_dev"] == pytest.approx(np.std(devs, ddof=1) / np.sqrt(len(devs)))
        assert out.loc[lst, "r_others"] == pytest.approx(np.corrcoef(xs, ms)[0, 1])
    assert np.corrcoef(out["mean_dev"], bias)[0, 1] > 0.8


# ----------------------------------------------------------------------------- mixed model
def _simulate_mixed(seed: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_listeners, per_listener = 300, 30
    listener_sd, resid_sd = 1.0, 2.0
    effect = rng.normal(scale=listener_sd, size=n_listeners)
    lst = np.repeat(np.arange(n_listeners), per_listener)
    source = rng.choice(["audiocaps", "tango"], size=len(lst))
    category = rng.choice(["animal", "human", "music"], size=len(lst))
    score = (
        6.0
        - 1.5 * (source == "tango")
        + 0.8 * (category == "music")
        + effect[lst]
        + resid_sd * rng.normal(size=len(lst))
    )
    return pd.DataFrame(
        {
            "score": score,
            "source": source,
            "category": category,
            "listener_id": [f"{i:04d}" for i in lst],
        }
    )


def test_mixed_model_recovers_simulated_effects():
    df = _simulate_mixed()
    result = stats.mixed_model(df)
    assert result.converged
    table = stats.mixed_model_table(result)
    assert list(table.columns) == ["kind", "coef", "se", "z", "p", "ci_lo", "ci_hi"]
    fixed = table[table["kind"] == "fixed"]
    tango, music = "C(source)[T.tango]", "C(category)[T.music]"
    assert fixed.loc[tango, "coef"] == pytest.approx(-1.5, abs=4 * fixed.loc[tango, "se"])
    assert fixed.loc[music, "coef"] == pytest.approx(0.8, abs=4 * fixed.loc[music, "se"])
    assert (
        fixed.loc["C(category)[T.human]", "ci_lo"] < 0 < fixed.loc["C(category)[T.human]", "ci_hi"]
    )
    assert fixed.loc[tango, "p"] < 1e-6
    assert ((fixed["ci_lo"] < fixed["coef"]) & (fixed["coef"] < fixed["ci_hi"])).all()
    assert fixed["z"].to_numpy() == pytest.approx((fixed["coef"] / fixed["se"]).to_numpy())
    variances = table[table["kind"] == "variance"]["coef"]
    assert variances["Group var"] == pytest.approx(1.0, abs=0.3)
    assert variances["Residual var"] == pytest.approx(4.0, abs=0.25)
    share = variances["Group var"] / (variances["Group var"] + variances["Residual var"])
    assert variances["Group share"] == pytest.approx(share)


def test_mixed_model_refuses_missing_values():
    df = _simulate_mixed().iloc[:600].copy()
    df.loc[5, "category"] = None
    with pytest.raises(Exception, match="(?i)missing|nan"):
        stats.mixed_model(df)
    df2 = _simulate_mixed().iloc[:600].drop(columns="listener_id")
    with pytest.raises(ValueError, match="listener_id"):
        stats.mixed_model(df2)


# ----------------------------------------------------------------------------- noise_ceiling_table
def test_noise_ceiling_table_combines_both_estimates():
    df, _ = _simulate(np.random.default_rng(10).integers(1, 6, size=200), icc1=0.4, seed=10)
    out = stats.noise_ceiling_table(df, n_splits=30, seed=2)
    assert len(out) == 1 and out.loc[0, "group"] == "all"
    rel = stats.reliability(df)
    sh = stats.split_half(df, n_splits=30, seed=2)
    assert out.loc[0, "ceiling_lcc"] == pytest.approx(rel["ceiling_lcc"])
    assert out.loc[0, "icc1"] == pytest.approx(rel["icc1"])
    assert out.loc[0, "split_half"] == pytest.approx(sh["mean"])
    assert out.loc[0, "note"] == ""
    df["source"] = np.where(df["wavname"].str[1:].astype(int) % 2 == 0, "tango", "audiocaps")
    by_source = stats.noise_ceiling_table(df, by="source", n_splits=10)
    assert list(by_source["source"]) == ["audiocaps", "tango"]
    assert by_source["ceiling_lcc"].notna().all()


# ----------------------------------------------------------------------------- real REL ratings
def test_real_rel_reliability_and_speed(rel_ratings):
    df = rel_ratings
    res = stats.reliability(df)
    n_i = df.groupby(["wavname", "text"]).size()
    assert res["n_pairs"] == len(n_i) and res["n_ratings"] == len(df)
    assert res["n_single"] == int((n_i == 1).sum())
    assert 0 < res["icc1"] < res["icc_mean"] < res["icck"] < 1
    assert res["k_hm"] < res["k0"]  # unbalanced: the harmonic mean is smaller
    start = time.perf_counter()
    sh = stats.split_half(df, n_splits=200, seed=0)
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"split_half took {elapsed:.1f} s"
    assert sh["n_pairs"] == int((n_i >= 2).sum())
    # Two estimates of the reliability of the same (>= 2 ratings) pair means agree.
    assert sh["mean"] == pytest.approx(stats.reliability(df, min_ratings=2)["icc_mean"], abs=0.05)
    by_split = stats.reliability_by(df, "split")
    assert set(by_split["split"]) == {"train", "validation", "test"}
    assert by_split["n_ratings"].sum() == len(df)


def test_real_rel_listener_bias(rel_ratings):
    out = stats.listener_bias(rel_ratings)
    assert len(out) == rel_ratings["listener_id"].nunique()
    assert out["n_ratings"].sum() == len(rel_ratings)
    # A typical listener's scores go up and down with the other raters' means.
    assert out["r_others"].median() > 0.3


@pytest.mark.slow
@pytest.mark.parametrize("formula", ["score ~ C(source)", "score ~ C(source) + C(category)"])
def test_real_rel_mixed_model_speed(rel_ratings, categories_path, formula):
    cats = pd.read_csv(categories_path)
    # First listed AudioSet top-level category of the clip (a choice made for this test only).
    first = cats.set_index("audiocaps_id")["caption_label"].str.split(",").str[0]
    audiocap_id = rel_ratings["wavname"].str.extract(r"/(\d+)\.wav$")[0].astype(int)
    df = rel_ratings.assign(category=audiocap_id.map(first).to_numpy())
    assert df["category"].notna().all()
    start = time.perf_counter()
    result = stats.mixed_model(df, formula=formula)
    elapsed = time.perf_counter() - start
    assert result.converged
    assert elapsed < 60, f"mixed_model took {elapsed:.1f} s"
    table = stats.mixed_model_table(result)
    assert table.loc["Group var", "coef"] > 0
    assert table.loc["Residual var", "coef"] > table.loc["Group var", "coef"]
    # Synthetic sources are rated lower than natural AudioCaps clips.
    assert table.loc["C(source)[T.audioldm]", "ci_hi"] < 0


def test_one_vs_rest_hand_example() -> None:
    ratings = pd.DataFrame(
        {
            "wavname": ["a", "a", "a", "b", "b", "c"],
            "text": ["t"] * 6,
            "score": [1, 4, 7, 10, 0, 5],
        }
    )
    out = stats.one_vs_rest(ratings, seed=3)
    assert out.attrs["n_pairs_excluded"] == 1  # pair c has one rating
    assert list(out["wavname"]) == ["a", "b"]
    for row in out.itertuples():
        scores = ratings.loc[ratings.wavname == row.wavname, "score"].tolist()
        assert row.one in scores
        rest = list(scores)
        rest.remove(row.one)
        assert row.rest_mean == pytest.approx(np.mean(rest))
        assert row.n_rest == len(rest)
    # another seed draws other listeners somewhere, never outside the pair
    draws = {tuple(stats.one_vs_rest(ratings, seed=s)["one"]) for s in range(20)}
    assert len(draws) > 1
