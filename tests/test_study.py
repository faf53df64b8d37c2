"""The fine-tuning study's design (humanclap.book.study): learning rate and λ chosen on
validation by the tie rule, planned contrasts, leave-one-term-out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from humanclap import stats
from humanclap.book import comparisons as planned
from humanclap.book import study
from humanclap.book.analyses import choice_table


def _summary(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"name": n, "seed": s, "best_epoch": 1, "best_val_srcc": v}
        for n, vs in values.items()
        for s, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


def test_tie_rule_by_hand() -> None:
    summary = _summary({"a": [0.40, 0.42], "b": [0.43, 0.41], "c": [0.30, 0.50]})
    table = choice_table(summary, ["a", "b", "c"])
    # the standard error of a difference of two 2-seed means, variance pooled over candidates
    var = np.mean([np.var(v, ddof=1) for v in ([0.40, 0.42], [0.43, 0.41], [0.30, 0.50])])
    assert table.attrs["tolerance"] == pytest.approx(math.sqrt(2 * var / 2))
    # means 0.41, 0.42, 0.40; tolerance 0.058: all three tied, the first listed wins
    assert table["tied"].tolist() == [True, True, True]
    assert table["chosen"].tolist() == [True, False, False]
    strict = choice_table(summary, ["a", "b", "c"], tolerance=0)
    assert strict["chosen"].tolist() == [False, True, False]
    narrow = choice_table(summary, ["a", "b", "c"], tolerance=0.015)
    assert narrow["tied"].tolist() == [True, True, False] and narrow["chosen"].iloc[0]
    with pytest.raises(ValueError, match="tolerance"):
        choice_table(summary, ["a"], tolerance=-1)
    with pytest.raises(ValueError, match="listed twice"):
        choice_table(summary, ["a", "a"])


def test_one_seed_has_no_tolerance() -> None:
    summary = _summary({"a": [0.40], "b": [0.41]})
    table = choice_table(summary, ["a", "b"])
    assert table.attrs["tolerance"] == 0 and table["chosen"].tolist() == [False, True]


def test_preference_orders() -> None:
    assert study.lr_preference([1e-3, 1e-4, 3e-4]) == [1e-4, 3e-4, 1e-3]
    assert study.lambda_preference([0.3, 1, 3, 10, 30]) == [1, 3, 0.3, 10, 30]
    assert study.lambda_preference([0.5, 2]) == [0.5, 2]  # equally close: the smaller first
    with pytest.raises(ValueError, match="lambda_grid"):
        study.lambda_preference([1, -1])
    with pytest.raises(ValueError, match="lr_grid"):
        study.lr_preference([1e-3, 1e-3])


class FakeTrainer:
    """Validation SRCC of a run from its recipe: a function of (lr, λ), plus seed noise."""

    def __init__(self, value) -> None:
        self.value, self.asked = value, []

    def __call__(self, recipes):
        self.asked.append(list(recipes))
        rows = []
        for name, r in recipes.items():
            lam = r.get("lambdas", [1.0, 1.0])[1]
            for seed, noise in enumerate([-0.001, 0.001]):
                v = self.value(r["lr"], lam) + noise
                rows.append({"name": name, "seed": seed, "best_epoch": 2, "best_val_srcc": v})
        return pd.DataFrame(rows)


def test_select_recipe_chooses_lr_then_lambda() -> None:
    def value(lr, lam):  # best at lr 1e-3 and λ = 10
        return 0.4 - abs(math.log10(lr) + 3) * 0.05 - abs(math.log10(lam) - 1) * 0.03

    train = FakeTrainer(value)
    choice = study.select_recipe(
        train, loss="wsce+mae", lr_grid=[3e-4, 1e-3, 3e-3], lambda_grid=[0.3, 1, 3, 10, 30]
    )
    assert (choice.lr, choice.lam) == (1e-3, 10.0) and not choice.at_edge
    assert choice.name == "wsce+mae, λ=10" and choice.paper_name == "wsce+mae, λ=1"
    assert train.asked[0] == [f"wsce+mae, λ=1 | lr {lr:g}" for lr in (3e-4, 1e-3, 3e-3)]
    assert all(name.endswith("| lr 0.001") for name in train.asked[1])  # λ at the chosen lr
    assert choice.recipe() == {"loss": "wsce+mae", "lambdas": [1.0, 10.0], "lr": 1e-3}
    assert list(choice.recipes()) == ["wsce+mae, λ=1", "wsce+mae, λ=10"]
    assert choice.lambda_table["chosen"].sum() == 1 and len(choice.lr_table) == 3
    # every candidate's two seeds differ by 0.002: sd sqrt(2) * 0.001, pooled the same
    assert choice.seed_sd == pytest.approx(math.sqrt(2) * 0.001)


def test_select_recipe_prefers_the_paper_within_the_tolerance_and_flags_an_edge() -> None:
    flat = study.select_recipe(
        FakeTrainer(lambda lr, lam: 0.4 + 0.0005 * lam), lr_grid=[1e-3, 3e-4], lambda_grid=[1, 3]
    )
    assert flat.lam == 1.0 and flat.lr == 3e-4  # within the seeds' SE: paper's λ, smaller lr
    assert list(flat.recipes()) == ["wsce+mae, λ=1"]
    assert flat.seed_sd > 0
    one_seed = study.select_recipe(
        study.TableTrainer(
            FakeTrainer(lambda lr, lam: 0.4)(
                {
                    f"wsce+mae, λ={lam:g} | lr 0.001": {"lr": 1e-3, "lambdas": [1, lam]}
                    for lam in (1, 3)
                }  # fmt: skip
            ).query("seed == 0")
        ),
        lr_grid=[1e-3],
        lambda_grid=[1, 3],
    )
    assert one_seed.seed_sd == 0 and one_seed.lam == 1
    edge = study.select_recipe(
        FakeTrainer(lambda lr, lam: 0.4 + 0.01 * lam), lr_grid=[1e-3], lambda_grid=[1, 3, 10]
    )
    assert edge.lam == 10 and edge.at_edge
    with pytest.raises(ValueError, match="paper's λ"):
        study.select_recipe(FakeTrainer(lambda lr, lam: 0.4), lr_grid=[1e-3], lambda_grid=[3])
    with pytest.raises(ValueError, match="two terms"):
        study.select_recipe(FakeTrainer(lambda lr, lam: 0.4), loss="mae", lr_grid=[1e-3],
                            lambda_grid=[1])  # fmt: skip


def test_table_trainer_reads_and_names_what_is_missing() -> None:
    summary = _summary({"a | lr 0.001": [0.4, 0.41]})
    read = study.TableTrainer(summary)
    assert len(read({"a | lr 0.001": {}})) == 2
    with pytest.raises(ValueError, match=r"no runs for \['b'\]"):
        read({"b": {}})


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    n = 90
    target = rng.random(n)
    captions = np.repeat(np.arange(30), 3)
    out = {"base": target + rng.normal(0, 1.0, n)}
    for name, noise in [("a", 0.6), ("b", 0.5), ("c", 0.7)]:
        out[name] = target + rng.normal(0, noise, (3, n))
    return out, target, captions


def test_contrasts_are_pairwise_seed_comparisons_independent_of_the_list(scores) -> None:
    preds, target, captions = scores
    kw = dict(clusters=captions, n_boot=300, seed=3)
    one = planned.contrasts(preds, target, [("base", "a")], **kw)
    many = planned.contrasts(preds, target, [("base", "c"), ("base", "b"), ("base", "a")], **kw)
    cols = ["mean", "diff", "diff_lo", "diff_hi", "p_value"]
    pd.testing.assert_series_equal(one.iloc[0][cols], many.iloc[2][cols], check_names=False)
    direct = stats.seed_comparison(
        {"base": preds["base"], "a": preds["a"]}, target, reference="base", n_boot=300, seed=3,
        clusters=captions,
    ).set_index("name")  # fmt: skip
    assert one.loc[0, "diff_lo"] == direct.loc["a", "diff_lo"]
    srcc = [sps.spearmanr(row, target)[0] for row in preds["a"]]
    assert one.loc[0, "diff"] == pytest.approx(
        np.mean(srcc) - sps.spearmanr(preds["base"], target)[0]
    )
    assert one.loc[0, "resampled"] == "captions" and "p_holm" not in one


def test_contrast_family_is_holm_adjusted_and_refuses_self_and_duplicates(scores) -> None:
    preds, target, captions = scores
    fam = planned.contrasts(preds, target, [("a", "b"), ("a", "c")], clusters=captions,
                          n_boot=200, family=True)  # fmt: skip
    np.testing.assert_allclose(fam["p_holm"], stats.holm(fam["p_value"].to_numpy()))
    with pytest.raises(ValueError, match="itself"):
        planned.contrasts(preds, target, [("a", "a")], clusters=captions)
    with pytest.raises(ValueError, match="twice"):
        planned.contrasts(preds, target, [("a", "b"), ("a", "b")], clusters=captions)


def test_leave_one_term_out() -> None:
    names = ["mae", "mse", "wsce", "wsce+mae", "wsce+mse", "mse+mae", "wsce+mse+mae", "wsce+margin"]
    assert planned.leave_one_term_out("wsce+mse+mae", names) == {
        "wsce": "mse+mae",
        "mse": "wsce+mae",
        "mae": "wsce+mse",
    }
    assert planned.leave_one_term_out("mae+wsce", names) == {"mae": "wsce", "wsce": "mae"}
    with pytest.raises(ValueError, match="'margin'"):
        planned.leave_one_term_out("wsce+margin", names)
    assert planned.loto_candidates([*names, "wsce+mae, no mask"]) == [
        "wsce+mse+mae", "wsce+mae", "wsce+mse", "mse+mae",
    ]  # fmt: skip


def test_term_contributions_are_full_minus_without(scores) -> None:
    preds, target, captions = scores
    preds = {"wsce": preds["a"], "mae": preds["b"], "wsce+mae": preds["c"]}
    table = planned.term_contributions(
        preds, target, "wsce+mae", list(preds), clusters=captions, n_boot=200
    ).set_index("term")
    srcc = {k: np.mean([sps.spearmanr(r, target)[0] for r in v]) for k, v in preds.items()}
    assert table.loc["wsce", "against"] == "mae"
    assert table.loc["wsce", "diff"] == pytest.approx(srcc["wsce+mae"] - srcc["mae"])
    assert table.loc["mae", "diff"] == pytest.approx(srcc["wsce+mae"] - srcc["wsce"])
