"""Set-level scores per system and two systems compared on the same prompts
(:mod:`humanclap.score.systems`, :mod:`humanclap.score.comparison`), and several models' scores in one table
(:mod:`humanclap.score.merge`), checked against numpy and scipy by hand (issue 22)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from humanclap.score.comparison import compare_systems
from humanclap.score.merge import merge_model_scores, model_fingerprints
from humanclap.score.systems import (
    ScoreTableError,
    folder_of,
    system_labels,
    system_summary,
)
from humanclap.stats import mean_ci

COL = "clapscore_x"


def _table(rows: list[tuple], index_from: int = 2) -> pd.DataFrame:
    """A score table from ``(text, audio, score)`` rows, indexed by CSV line."""
    frame = pd.DataFrame(rows, columns=["text", "audio", COL])
    frame.index = pd.RangeIndex(index_from, index_from + len(frame), name="line")
    return frame


# ----------------------------------------------------------------------------- systems
def test_folder_of_is_the_parent_as_written():
    assert folder_of("sysA/dog.wav") == "sysA"
    assert folder_of("out\\sysB\\x\\cat.flac") == "out/sysB/x"
    assert folder_of("dog.wav") == "."
    assert folder_of("/data/sysC/a.wav") == "/data/sysC"
    assert folder_of("") == folder_of(None) == folder_of(np.nan) == "(none)"


def test_system_labels_by_column_folder_or_all():
    table = pd.DataFrame({"audio": ["a/1.wav", "b/2.wav", "3.wav"], "sys": ["x", " ", "y"]})
    assert list(system_labels(table)) == ["all"] * 3
    assert list(system_labels(table, folder_col="audio")) == ["a", "b", "."]
    assert list(system_labels(table, system_col="sys")) == ["x", "(none)", "y"]
    with pytest.raises(ScoreTableError, match="not both"):
        system_labels(table, system_col="sys", folder_col="audio")
    with pytest.raises(ScoreTableError, match=r"t.csv: no column 'nope'; its columns: audio, sys"):
        system_labels(table, system_col="nope", source="t.csv")


def test_system_summary_equals_direct_computation():
    rows = [
        ("dog", "A/1.wav", 0.30), ("dog", "A/2.wav", 0.10), ("rain", "A/3.wav", 0.20),
        ("car", "A/4.wav", np.nan), ("dog", "B/1.wav", 0.50), ("rain", "B/2.wav", 0.40),
        ("car", "B/3.wav", 0.45), ("wind", "B/4.wav", 0.05),
    ]  # fmt: skip
    table = _table(rows)
    table["error"] = ["", "", "", "A/4.wav: cannot decode audio (bad)", "", "", "", ""]
    out = system_summary(table, COL, folder_col="audio", n_boot=500, seed=3)
    assert list(out["system"]) == ["A", "B"]
    for system, part in ((s, table[table["audio"].str.startswith(s)]) for s in "AB"):
        row = out.set_index("system").loc[system]
        ok = part[COL].notna().to_numpy()
        scores, captions = part[COL].to_numpy()[ok], part["text"].to_numpy()[ok]
        direct = mean_ci(scores, captions, n_boot=500, seed=3)
        assert row["n"] == len(part) and row["n_scored"] == ok.sum()
        assert row["n_failed"] == (~ok).sum()
        assert row["mean"] == pytest.approx(np.mean(scores), abs=1e-15)
        assert row["median"] == np.median(scores)
        assert (row["lo"], row["hi"]) == (direct["lo"], direct["hi"])
        assert row["n_units"] == len(set(captions)) and row["resampled"] == "captions"
    assert list(out["median"]) == [0.2, (0.4 + 0.45) / 2]


def test_system_summary_without_scores_or_error_column():
    table = _table([("dog", "A/1.wav", ""), ("rain", "B/1.wav", "0.25")])
    out = system_summary(table, COL, folder_col="audio", n_boot=50)
    assert out["n_scored"].tolist() == [0, 1] and out["n_failed"].tolist() == [1, 0]
    assert np.isnan(out.loc[0, "mean"]) and np.isnan(out.loc[0, "median"])
    assert out.loc[1, "mean"] == out.loc[1, "lo"] == out.loc[1, "hi"] == 0.25
    bad = _table([("dog", "A/1.wav", "0.1"), ("rain", "A/2.wav", "high")])
    with pytest.raises(
        ScoreTableError, match=r"t.csv line 3: column 'clapscore_x' is not a number"
    ):
        system_summary(bad, COL, source="t.csv")
    with pytest.raises(ScoreTableError, match=r"t.csv: no column 'prompt'"):
        system_summary(bad, COL, text_col="prompt", source="t.csv")


# ----------------------------------------------------------------------------- comparison
A_ROWS = [
    ("dog", "A/1.wav", 0.30), ("dog", "A/2.wav", 0.10), ("rain", "A/3.wav", 0.20),
    ("car", "A/4.wav", 0.40), ("wind", "A/5.wav", 0.25), ("sea", "A/6.wav", 0.15),
]  # fmt: skip
B_ROWS = [
    ("rain", "B/1.wav", 0.35), ("dog", "B/2.wav", 0.20), ("car", "B/3.wav", 0.10),
    ("car", "B/4.wav", 0.30), ("wind", "B/5.wav", 0.25), ("sea", "B/6.wav", 0.45),
    ("dog", "B/7.wav", 0.40),
]  # fmt: skip


def test_compare_equals_direct_computation():
    a, b = _table(A_ROWS), _table(B_ROWS)
    done = compare_systems(a, b, COL, n_boot=700, seed=5, names=("a.csv", "b.csv"))
    prompts = ["dog", "rain", "car", "wind", "sea"]  # A's order
    mean_a = {p: np.mean([s for t, _, s in A_ROWS if t == p]) for p in prompts}
    mean_b = {p: np.mean([s for t, _, s in B_ROWS if t == p]) for p in prompts}
    diff = np.array([mean_b[p] - mean_a[p] for p in prompts])
    # by hand: dog 0.30 - 0.20, rain 0.35 - 0.20, car 0.20 - 0.40, wind 0, sea 0.45 - 0.15
    np.testing.assert_allclose(diff, [0.1, 0.15, -0.2, 0.0, 0.3], atol=1e-15)
    assert list(done.per_prompt["text"]) == prompts
    np.testing.assert_array_equal(done.per_prompt["difference"], diff)
    assert done.per_prompt["clips_a"].tolist() == [2, 1, 1, 1, 1]
    assert done.per_prompt["clips_b"].tolist() == [2, 1, 2, 1, 1]
    assert done.difference == mean_ci(diff, prompts, n_boot=700, seed=5)
    assert done.difference["mean"] == pytest.approx(0.07, abs=1e-15)
    assert done.mean_a == pytest.approx(np.mean(list(mean_a.values())), abs=1e-15)
    assert done.mean_b == pytest.approx(np.mean(list(mean_b.values())), abs=1e-15)
    assert (done.wins, done.losses, done.ties, done.n_prompts) == (3, 1, 1, 5)
    assert (done.win_rate, done.loss_rate, done.tie_rate) == (0.6, 0.2, 0.2)
    assert done.sign_test_p == scipy_stats.binomtest(3, 4, 0.5).pvalue == 0.625
    facts = done.to_dict()
    assert facts["difference"]["of"] == "B - A" and facts["sign_test"]["ties_excluded"] == 1
    assert facts["a"] == {"table": "a.csv", "column": COL, "rows": 6, "mean": done.mean_a}
    assert "B wins 3 (60.0%), loses 1 (20.0%), ties 1 (20.0%)" in done.lines()


def test_compare_sign_test_by_hand_and_all_ties():
    prompts = [f"p{i}" for i in range(10)]
    a = _table([(p, f"{p}.wav", 0.0) for p in prompts])
    b = _table([(p, f"{p}.wav", 1.0 if i < 9 else -1.0) for i, p in enumerate(prompts)])
    done = compare_systems(a, b, COL, n_boot=100)
    # 9 wins, 1 loss: P(X <= 1) + P(X >= 9) = 2 * 11 / 2**10
    assert done.sign_test_p == pytest.approx(22 / 1024, rel=1e-12)
    same = compare_systems(a, a.copy(), COL, n_boot=100)
    assert same.ties == 10 and same.sign_test_p is None
    assert "p = n/a (every prompt a tie)" in same.lines()[-1]


def test_compare_other_column_of_b():
    b = _table(B_ROWS).rename(columns={COL: "clapscore_y"})
    a = _table([r for r in A_ROWS])
    done = compare_systems(a, b, COL, column_b="clapscore_y", n_boot=50)
    assert done.columns == (COL, "clapscore_y") and done.n_prompts == 5


def test_compare_refuses_unpaired_prompts_unless_dropped():
    a = _table(A_ROWS + [("owl", "A/7.wav", 0.5)])
    b = _table(B_ROWS + [("cat", "B/8.wav", 0.1), ("bee", "B/9.wav", 0.2)])
    with pytest.raises(ScoreTableError) as err:
        compare_systems(a, b, COL, names=("a.csv", "b.csv"))
    text = str(err.value)
    assert "a.csv and b.csv: prompts ('text') not in both tables" in text
    assert "1 only in a.csv: 'owl'" in text and "2 only in b.csv: 'cat', 'bee'" in text
    done = compare_systems(a, b, COL, drop_missing=True, n_boot=50, names=("a.csv", "b.csv"))
    assert done.only_in_a == ["owl"] and done.only_in_b == ["cat", "bee"]
    assert done.n_prompts == 5 and done.rows == (7, 9)
    assert done.to_dict()["dropped"]["prompts_only_in_b"] == ["cat", "bee"]
    assert (
        "dropped: 1 prompts only in a.csv: owl; 2 prompts only in b.csv: cat, bee" in done.lines()
    )


def test_compare_refuses_failed_rows_unless_dropped():
    a = _table(A_ROWS[:2] + [("rain", "A/3.wav", np.nan)] + A_ROWS[3:])
    b = _table(B_ROWS)
    with pytest.raises(ScoreTableError, match=r"a.csv line 4: no score in 'clapscore_x' \(1 rows"):
        compare_systems(a, b, COL, names=("a.csv", "b.csv"))
    done = compare_systems(a, b, COL, drop_missing=True, n_boot=50, names=("a.csv", "b.csv"))
    assert done.failed_rows_dropped == (1, 0) and done.only_in_b == ["rain"]
    assert done.n_prompts == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns=[COL]), r"a.csv: no column 'clapscore_x'; its columns: text, audio"),
        (lambda t: t.iloc[:0], r"a.csv: no rows"),
        (lambda t: t.assign(text=["dog", " ", "rain", "car", "wind", "sea"]),
         r"a.csv line 3: empty prompt \('text'\)"),
        (lambda t: t.assign(**{COL: ["0.1", "x", "0.2", "0.3", "0.2", "0.1"]}),
         r"a.csv line 3: column 'clapscore_x' is not a number"),
        (lambda t: t.assign(text=[f"other {i}" for i in range(6)]).iloc[:1],
         r"1 only in a.csv: 'other 0'"),
    ],
)  # fmt: skip
def test_compare_bad_input_names_table_column_and_rows(change, message):
    with pytest.raises(ScoreTableError, match=message):
        compare_systems(change(_table(A_ROWS)), _table(B_ROWS), COL, names=("a.csv", "b.csv"))


def test_compare_nothing_in_common_even_when_dropping():
    a, b = _table([("owl", "a.wav", 0.1)]), _table([("cat", "b.wav", 0.2)])
    with pytest.raises(ScoreTableError, match="no prompt is scored in both tables"):
        compare_systems(a, b, COL, drop_missing=True)


# ----------------------------------------------------------------------------- several models
def test_merge_model_scores_keeps_rows_and_says_each_message_once():
    rows = pd.DataFrame({"text": ["dog", "rain"], "audio": ["a.wav", "b.wav"]})
    one = rows.assign(clapscore_m1=[0.1, np.nan], model="m1", model_fingerprint="f1",
                      error=["", "b.wav: empty file"], warning=["short", ""])  # fmt: skip
    two = rows.assign(clapscore_m2=[0.2, np.nan], model="m2", model_fingerprint="f2",
                      error=["", "b.wav: empty file"], warning=["short; caption cut", ""])  # fmt: skip
    out = merge_model_scores([one, two], ["clapscore_m1", "clapscore_m2"])
    assert list(out.columns) == ["text", "audio", "clapscore_m1", "clapscore_m2", "model",
                                 "model_fingerprint", "error", "warning"]  # fmt: skip
    assert out["model"].tolist() == ["m1; m2"] * 2
    assert out["error"].tolist() == ["", "b.wav: empty file"]
    assert out["warning"].tolist() == ["short; caption cut", ""]
    assert model_fingerprints(out, "clapscore_m2") == {"f2"}
    assert model_fingerprints(out, "clapscore_m3") == set()
    with pytest.raises(ValueError, match="named twice"):
        merge_model_scores([one, one], ["clapscore_m1", "clapscore_m1"])
    with pytest.raises(ValueError, match="does not hold the same rows"):
        merge_model_scores([one, two.iloc[::-1]], ["clapscore_m1", "clapscore_m2"])


def test_compare_warns_when_different_weights_made_the_scores():
    a = _table(A_ROWS).assign(model="best.pt", model_fingerprint="f1")
    b = _table(B_ROWS).assign(model="best.pt", model_fingerprint="f2")
    done = compare_systems(a, b, "clapscore_x", n_boot=50, names=("a.csv", "b.csv"))
    assert done.warnings == ()  # "best.pt" names the column clapscore_best, not clapscore_x
    a, b = a.rename(columns={COL: "clapscore_best"}), b.rename(columns={COL: "clapscore_best"})
    done = compare_systems(a, b, "clapscore_best", n_boot=50, names=("a.csv", "b.csv"))
    assert done.warnings == (
        "the scores come from different models: a.csv 'clapscore_best' fingerprint f1, "
        "b.csv 'clapscore_best' fingerprint f2",
    )
    assert done.lines()[-1] == f"warning: {done.warnings[0]}"
