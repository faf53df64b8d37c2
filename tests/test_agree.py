"""Tests of :mod:`humanclap.agree`, :func:`humanclap.stats.within_between` and ``humanclap
agree``: reading and joining predictions, each metric against scipy, the decomposition on a
constructed case, the paired comparison's coverage, the command's exit statuses and files, and
the XACLE baseline's published numbers on the real file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from humanclap import agree, stats
from humanclap.cli import main
from humanclap.data import load_relate, pair_table
from humanclap.data.categories import CATEGORY_IDS

SOURCES3 = ("audiocaps", "tango", "audioldm")
SPLIT_OF_CLIP = ["test"] * 14 + ["validation"] * 4 + ["train"] * 4
CAT_IDS = list(CATEGORY_IDS)
N_BOOT = 40


# ----------------------------------------------------------------------------- fake RELATE
def _clip_categories(i: int) -> str:
    """Category ids of clip ``i``: one, or two for every third clip."""
    first = CAT_IDS[i % 3]
    return f"{first},{CAT_IDS[3]}" if i % 3 == 0 else first


def _rel_rows(two_texts: bool) -> pd.DataFrame:
    """REL.csv rows: 22 clips x 3 sources x 3 ratings (+ a second text for one test wav)."""
    rng = np.random.default_rng(1)
    rows = []
    for i, split in enumerate(SPLIT_OF_CLIP):
        folder = "train" if split == "train" else "test"
        for s, source in enumerate(SOURCES3):
            texts = [f"caption {i}"] + (
                ["another caption"] if two_texts and i == 0 and s == 0 else []
            )
            for text in texts:
                quality = 2.0 * s + 0.3 * i + rng.normal()
                for k in range(3):
                    score = int(np.clip(round(quality + rng.normal()), 0, 10))
                    rows.append(
                        [f"/{source}/{folder}/{100 + i}.wav", text, score, f"{(i * 7 + k) % 40:04d}",
                         "natural" if source == "audiocaps" else source, False, split, folder]
                    )  # fmt: skip
    columns = ["wavname", "text", "score", "listener_id", "audio type", "anchor label"]
    return pd.DataFrame(rows, columns=[*columns, "in RELATE dataset", "in AudioCaps"])


def _write_relate(root: Path, two_texts: bool = False) -> Path:
    """A RELATE-layout folder: scores/REL.csv and audiocaps_categories.csv."""
    (root / "scores").mkdir(parents=True)
    _rel_rows(two_texts).to_csv(root / "scores" / "REL.csv", index=False)
    table = pd.DataFrame(
        {
            "audiocaps_id": [100 + i for i in range(len(SPLIT_OF_CLIP))],
            "caption": [f"caption {i}" for i in range(len(SPLIT_OF_CLIP))],
            "caption_label": [_clip_categories(i) for i in range(len(SPLIT_OF_CLIP))],
        }
    )
    table.to_csv(root / "audiocaps_categories.csv", index=False)
    return root


@pytest.fixture
def relate_root(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("HUMANCLAP_RELATE_DIR", raising=False)
    monkeypatch.delenv("HUMANCLAP_CATEGORIES", raising=False)
    return _write_relate(tmp_path / "relate")


@pytest.fixture
def ratings(relate_root) -> pd.DataFrame:
    return load_relate(relate_root, aspect="REL")


@pytest.fixture
def pairs(ratings) -> pd.DataFrame:
    return pair_table(ratings)


def _write_predictions(path: Path, pairs: pd.DataFrame, split="test", prefix="./x/wav", **kw):
    """A predictions CSV for the pairs of ``split``: ``wav_path``, ``pred`` (noisy truth)."""
    chosen = pairs if split == "all" else pairs[pairs["split"] == split]
    rng = np.random.default_rng(kw.pop("seed", 0))
    frame = pd.DataFrame(
        {
            "wav_path": prefix + chosen["wavname"],
            "pred": chosen["mean_score"].to_numpy() + rng.normal(0, 2, len(chosen)),
            **kw,
        }
    )
    frame.to_csv(path, index=False)
    return frame


# ----------------------------------------------------------------------------- keys and reading
@pytest.mark.parametrize(
    "key, wavname",
    [
        ("./datasets/data/wav/audiocaps/test/10176.wav", "/audiocaps/test/10176.wav"),
        ("/audiocaps/test/10176.wav", "/audiocaps/test/10176.wav"),
        ("audioldm2/train/5.wav", "/audioldm2/train/5.wav"),
        ("C:\\data\\tango2\\test\\7.wav", "/tango2/test/7.wav"),
        ("/data/audioldm/train/x/audioldm/test/9.wav", "/audioldm/test/9.wav"),
    ],
)
def test_wavname_of_tolerates_prefixes(key, wavname):
    assert agree.wavname_of(key) == wavname


@pytest.mark.parametrize(
    "key, match",
    [
        ("10176.wav", "ambiguous"),
        ("test/10176.wav", "ambiguous"),
        ("/myaudiocaps/test/1.wav", "ambiguous"),
        ("/audiocaps/test/1.mp3", "unrecognisable"),
    ],
)
def test_wavname_of_refuses_ambiguous_and_unrecognisable_keys(key, match):
    with pytest.raises(ValueError, match=match):
        agree.wavname_of(key)


def test_read_predictions_names_bad_key_line(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("wav_path,pred\n/audiocaps/test/1.wav,1\n1.wav,2\n")
    with pytest.raises(agree.PredictionError, match=r"p.csv: line 3, column 'wav_path': '1.wav'"):
        agree.read_predictions(path, "pred")


def test_read_predictions_missing_column_names_columns_present(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("wav_path,score\n/audiocaps/test/1.wav,1\n")
    with pytest.raises(agree.PredictionError, match=r"no column 'pred'.*'wav_path', 'score'"):
        agree.read_predictions(path, "pred")
    with pytest.raises(agree.PredictionError, match=r"no column 'caption'"):
        agree.read_predictions(path, "score", text_col="caption")


@pytest.mark.parametrize("value", ["nan", "", "abc", "inf", "NA"])
def test_read_predictions_names_line_of_a_non_numeric_value(tmp_path, value):
    path = tmp_path / "p.csv"
    path.write_text(f"wav_path,pred\n/audiocaps/test/1.wav,1\n/tango/test/1.wav,{value}\n")
    with pytest.raises(agree.PredictionError, match=r"line 3, column 'pred': not a finite number"):
        agree.read_predictions(path, "pred")


def test_read_predictions_duplicate_key_names_lines(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "wav_path,pred\n/audiocaps/test/1.wav,1\n/tango/test/1.wav,2\n"
        "./data/wav/audiocaps/test/1.wav,3\n"
    )
    with pytest.raises(
        agree.PredictionError, match=r"duplicate key '/audiocaps/test/1.wav' on lines 2, 4"
    ):
        agree.read_predictions(path, "pred")
    # with a text column the key is the pair: the same wav with two texts is fine
    path.write_text("wav_path,text,pred\n/audiocaps/test/1.wav,a,1\n/audiocaps/test/1.wav,b,2\n")
    assert len(agree.read_predictions(path, "pred", text_col="text")) == 2


def test_read_predictions_keeps_lines_and_keys(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("wav_path,pred\n./a/audiocaps/test/1.wav, 1.5\n/tango/test/1.wav,-2e-1\n")
    frame = agree.read_predictions(path, "pred")
    assert frame["wavname"].tolist() == ["/audiocaps/test/1.wav", "/tango/test/1.wav"]
    assert frame["pred"].tolist() == [1.5, -0.2]
    assert frame["line"].tolist() == [2, 3]
    assert frame["key"].iloc[0] == "./a/audiocaps/test/1.wav"


# ----------------------------------------------------------------------------- joining
def test_join_reports_missing_and_extra(tmp_path, pairs):
    path = tmp_path / "p.csv"
    frame = _write_predictions(path, pairs)
    extra = pd.DataFrame(
        {"wav_path": ["/tango/test/100.wav".replace("100", "999"), "/audiocaps/test/114.wav"],
         "pred": [1.0, 2.0]}
    )  # fmt: skip
    pd.concat([frame.iloc[3:], extra]).to_csv(path, index=False)
    join = agree.join_predictions(agree.read_predictions(path, "pred"), pairs, name="p")
    test = pairs[pairs["split"] == "test"]
    assert join.n_pairs == len(test)
    assert len(join.joined) == len(test) - 3
    assert sorted(join.missing["wavname"]) == sorted(frame["wav_path"].str[len("./x/wav") :][:3])
    assert join.extra["reason"].tolist() == [
        "a wav RELATE does not rate",
        "a wav of the validation split",
    ]
    assert join.extra["line"].tolist() == [len(frame) - 3 + 2, len(frame) - 3 + 3]
    text = "\n".join(join.summary())
    assert "3 pair(s) of the test split have no prediction" in text
    assert "1 a wav of the validation split" in text
    joined = join.joined.merge(frame.assign(wavname=frame["wav_path"].str[7:]), on="wavname")
    np.testing.assert_allclose(joined["p"], joined["pred"], rtol=1e-12)


def test_join_a_file_for_another_split(tmp_path, pairs):
    path = tmp_path / "p.csv"
    _write_predictions(path, pairs, split="validation")
    predictions = agree.read_predictions(path, "pred")
    with pytest.raises(
        agree.PredictionError, match="nothing joins; the predictions are for the validation split"
    ):
        agree.join_predictions(predictions, pairs, split="test")
    join = agree.join_predictions(predictions, pairs, split="validation")
    assert len(join.joined) == join.n_pairs and join.missing.empty and join.extra.empty
    everything = agree.join_predictions(predictions, pairs, split="all")
    assert len(everything.missing) == len(pairs) - len(join.joined)


def test_join_two_text_wavs_need_a_text_column(tmp_path, monkeypatch):
    monkeypatch.delenv("HUMANCLAP_CATEGORIES", raising=False)
    pairs = pair_table(load_relate(_write_relate(tmp_path / "r", two_texts=True)))
    path = tmp_path / "p.csv"
    _write_predictions(path, pairs.drop_duplicates("wavname"))
    with pytest.raises(
        agree.PredictionError,
        match=r"1 wav\(s\) .* /audiocaps/test/100.wav: \['another caption', 'caption 0'\]",
    ):
        agree.join_predictions(agree.read_predictions(path, "pred"), pairs)
    test = pairs[pairs["split"] == "test"]
    _write_predictions(path, pairs, text=test["text"].to_numpy())
    join = agree.join_predictions(agree.read_predictions(path, "pred", text_col="text"), pairs)
    assert len(join.joined) == len(test) and join.missing.empty and join.extra.empty
    assert (join.joined["wavname"] == "/audiocaps/test/100.wav").sum() == 2
    # a text the wav is not rated with is extra, with the reason
    frame = pd.read_csv(path)
    frame.loc[0, "text"] = "a third caption"
    frame.to_csv(path, index=False)
    join = agree.join_predictions(agree.read_predictions(path, "pred", text_col="text"), pairs)
    assert join.extra["reason"].tolist() == ["a text not rated with this wav"]
    assert len(join.missing) == 1


# ----------------------------------------------------------------------------- the analyses
@pytest.fixture
def report(tmp_path, pairs, ratings):
    path = tmp_path / "p.csv"
    _write_predictions(path, pairs)
    join = agree.join_predictions(agree.read_predictions(path, "pred"), pairs, name="p")
    return agree.agreement_report(join.joined, ratings, pred="p", n_boot=N_BOOT, min_pairs=5)


def test_metrics_match_scipy_and_hand(report):
    p, h = report.pairs["p"].to_numpy(), report.pairs["mean_score"].to_numpy()
    overall = report.overall()
    assert overall.loc["srcc", "estimate"] == pytest.approx(sps.spearmanr(p, h).statistic)
    assert overall.loc["lcc", "estimate"] == pytest.approx(sps.pearsonr(p, h).statistic)
    assert overall.loc["ktau", "estimate"] == pytest.approx(sps.kendalltau(p, h).statistic)
    assert overall.loc["mse", "estimate"] == pytest.approx(np.mean((p - h) ** 2))
    slope = np.sum((p - p.mean()) * (h - h.mean())) / np.sum((p - p.mean()) ** 2)
    intercept = h.mean() - slope * p.mean()
    assert report.calibration["p"] == pytest.approx((intercept, slope))
    cal_mse = np.mean((intercept + slope * p - h) ** 2)
    assert overall.loc["mse_calibrated", "estimate"] == pytest.approx(cal_mse)
    assert cal_mse <= np.mean((p - h) ** 2)
    assert (overall["lo"] <= overall["estimate"]).all() and (
        overall["estimate"] <= overall["hi"]
    ).all()
    assert list(report.agreement.columns[:8]) == [
        "grouping", "group", "metric", "estimate", "lo", "hi", "n", "ceiling_lcc"
    ]  # fmt: skip


def test_groups_and_ceilings(report, ratings):
    table = report.agreement
    groups = table.drop_duplicates(["grouping", "group"])
    assert list(dict.fromkeys(groups["grouping"])) == ["overall", "origin", "source", "category"]
    assert set(groups.loc[groups["grouping"] == "origin", "group"]) == {"natural", "synthesized"}
    assert set(groups.loc[groups["grouping"] == "source", "group"]) == set(SOURCES3)
    cats = groups[groups["grouping"] == "category"].set_index("group")["n"]
    exploded = report.pairs["categories"].str.split("|").explode().value_counts()
    assert cats.to_dict() == exploded.to_dict()
    # a group's ceiling is reliability on the ratings of its joined pairs
    tango = ratings[(ratings["source"] == "tango") & (ratings["split"] == "test")]
    expected = stats.reliability(tango)["ceiling_lcc"]
    got = table[(table["grouping"] == "source") & (table["group"] == "tango")]["ceiling_lcc"]
    assert got.iloc[0] == pytest.approx(expected)
    # a group's row equals the metric on its pairs alone
    sub = report.pairs[report.pairs["source"] == "tango"]
    row = table[(table["group"] == "tango") & (table["metric"] == "srcc")].iloc[0]
    assert row["estimate"] == pytest.approx(sps.spearmanr(sub["p"], sub["mean_score"]).statistic)


def test_small_groups_and_events(report, pairs, ratings):
    test = report.pairs
    events = pd.concat(
        [test[["wavname", "text"]].assign(event="speech"),
         test[["wavname", "text"]].head(4).assign(event="dog bark"),
         test[["wavname", "text"]].head(2).assign(event="")]
    )  # fmt: skip
    rep = agree.agreement_report(
        test, ratings, pred="p", events=events, n_boot=N_BOOT, min_pairs=10
    )
    ev = rep.agreement[rep.agreement["grouping"] == "event"]
    dog = ev[ev["group"] == "dog bark"]
    assert len(dog) == len(agree.METRICS) and dog["estimate"].isna().all()
    assert (dog["n"] == 4).all() and dog["note"].str.contains("n < min_pairs").all()
    assert ev[ev["group"] == "speech"]["estimate"].notna().all()
    assert set(ev["group"]) == {"speech", "dog bark"}  # "" is no event
    source_rows = rep.agreement[rep.agreement["grouping"] == "source"]
    assert source_rows["estimate"].notna().all()  # 14 pairs each >= 10


def test_default_events_from_the_ontology(ontology_path, monkeypatch, tmp_path):
    pairs = pd.DataFrame(
        {
            "wavname": ["/audiocaps/test/1.wav", "/tango/test/1.wav", "/tango2/test/2.wav"],
            "text": ["A dog barks while a man speaks", "A dog barks while a man speaks", "Hmm"],
        }
    )
    events = agree.default_events(pairs, ontology_path)
    assert list(events.columns) == ["wavname", "text", "event", "event_source"]
    first = set(events[events["wavname"] == "/audiocaps/test/1.wav"]["event"])
    assert first == {"Dog", "Speech"}  # no labelled clip has this caption: the matcher's types
    assert set(events["event_source"]) == {"caption matcher"}
    assert events[events["wavname"] == "/tango2/test/2.wav"]["event"].tolist() == ["(none)"]
    monkeypatch.delenv("HUMANCLAP_ONTOLOGY", raising=False)
    monkeypatch.setenv("HUMANCLAP_CACHE", str(tmp_path))  # offline, nothing cached
    assert agree.default_events(pairs) is None


def test_works_on_any_prediction_column_and_target(report):
    frame = report.pairs[["wavname", "text", "source", "mean_score", "target", "p"]]
    frame = frame.rename(columns={"p": "clapscore"}).assign(clapscore=lambda f: f["clapscore"] / 10)
    rep = agree.agreement_report(
        frame, pred="clapscore", target="target", n_boot=N_BOOT, min_pairs=5
    )
    assert rep.overall().loc["srcc", "estimate"] == pytest.approx(
        report.overall().loc["srcc", "estimate"]
    )
    assert rep.agreement["ceiling_lcc"].isna().all()  # no ratings, no ceiling
    assert "no AudioSet categories" in " ".join(rep.notes)


def test_agreement_report_refuses_bad_input(report):
    with pytest.raises(ValueError, match=r"missing column\(s\) \['nope'\]"):
        agree.agreement_report(report.pairs, pred="nope")
    bad = report.pairs.assign(p=lambda f: f["p"].where(f.index != 2))
    with pytest.raises(ValueError, match="joined\\['p'\\]: 1 non-finite"):
        agree.agreement_report(bad, pred="p")
    with pytest.raises(ValueError, match="constant"):
        agree.agreement_report(report.pairs.assign(p=1.0), pred="p")


# ----------------------------------------------------------------------------- decomposition
def test_within_between_constant_within_source():
    rng = np.random.default_rng(0)
    groups = np.repeat(["a", "b", "c"], 50)
    means = {"a": 2.0, "b": 5.0, "c": 8.0}
    target = np.array([means[g] for g in groups]) + rng.normal(0, 2, len(groups))
    pred = np.array([means[g] / 10 for g in groups])  # constant within source, ordered alike
    table = stats.within_between(pred, target, groups, n_boot=30, unit="pair")
    table = table.set_index(["component", "group"])
    assert table.loc["within", "estimate"].isna().all()
    assert (table.loc["within", "note"] == "predictions constant").all()
    assert (table.loc["within", "weight"] == 0).all()
    assert np.isnan(table.loc[("pooled_within", "all"), "estimate"])
    overall = table.loc[("overall", "all"), "estimate"]
    assert overall == pytest.approx(sps.spearmanr(pred, target).statistic)
    assert table.loc[("between", "all"), "estimate"] == pytest.approx(overall)
    assert table.loc[("between_target_means", "all"), "estimate"] == pytest.approx(overall)


def test_within_between_by_hand():
    rng = np.random.default_rng(1)
    groups = np.repeat(["x", "y", "z"], [30, 60, 2])
    target = rng.normal(size=len(groups))
    pred = target + rng.normal(size=len(groups)) - 3 * (groups == "y")  # y: lower predictions
    table = stats.within_between(pred, target, groups)
    within = table[table["component"] == "within"].set_index("group")
    r = {g: sps.spearmanr(pred[groups == g], target[groups == g]).statistic for g in ("x", "y")}
    assert within.loc["x", "estimate"] == pytest.approx(r["x"])
    assert np.isnan(within.loc["z", "estimate"]) and "fewer than 3" in within.loc["z", "note"]
    assert within["weight"].tolist() == pytest.approx([1 / 3, 2 / 3, 0])
    row = table.set_index("component")
    assert row.loc["pooled_within", "estimate"] == pytest.approx((30 * r["x"] + 60 * r["y"]) / 90)
    assert row.loc["pooled_within", "n"] == 90
    means = pd.Series(pred).groupby(groups).transform("mean")
    between = sps.spearmanr(means, target).statistic
    assert row.loc["between", "estimate"] == pytest.approx(between)
    for metric, fn in (("lcc", sps.pearsonr), ("ktau", sps.kendalltau)):
        got = stats.within_between(pred, target, groups, metric=metric).set_index("component")
        assert got.loc["overall", "estimate"] == pytest.approx(fn(pred, target).statistic)
    with pytest.raises(ValueError, match="metric"):
        stats.within_between(pred, target, groups, metric="mse")


def test_decomposition_in_the_report(report):
    dec = report.decomposition
    assert set(dec["predictor"]) == {"p"}
    assert set(dec.loc[dec["component"] == "within", "group"]) == set(SOURCES3)
    overall = dec.set_index("component").loc["overall", "estimate"]
    assert overall == pytest.approx(report.overall().loc["srcc", "estimate"])


# ----------------------------------------------------------------------------- paired comparison
def test_paired_comparison_covers_the_true_difference():
    """200 simulated data sets: the 95% paired-bootstrap interval covers the known difference.

    (With 1,000 data sets and 1,000 resamples the coverage was 94.3% for LCC, 94.9% for SRCC and
    94.2% for MSE; 200 x 200 keeps the test fast, hence the wide band.)"""
    n, sigma_a, sigma_b = 150, 1.0, 0.6
    r_a, r_b = 1 / np.sqrt(1 + sigma_a**2), 1 / np.sqrt(1 + sigma_b**2)
    true = {
        "lcc": r_b - r_a,
        "srcc": 6 / np.pi * (np.arcsin(r_b / 2) - np.arcsin(r_a / 2)),  # bivariate normal
        "mse": sigma_b**2 - sigma_a**2,
    }
    covered = dict.fromkeys(true, 0)
    rng = np.random.default_rng(2024)
    for i in range(200):
        h = rng.normal(size=n)
        a, b = h + sigma_a * rng.normal(size=n), h + sigma_b * rng.normal(size=n)
        for metric, value in true.items():
            res = stats.paired_comparison(a, b, h, metric=metric, n_boot=200, seed=i, unit="pair")
            covered[metric] += res["lo"] <= value <= res["hi"]
    for metric, count in covered.items():
        assert 0.89 <= count / 200 <= 0.99, (metric, count)


def test_paired_table_in_the_report(report, ratings):
    pairs = report.pairs.drop(columns="p_calibrated")
    other = pairs["mean_score"] + np.random.default_rng(5).normal(0, 1, len(pairs))
    pairs = pairs.assign(q=other.where(pairs.index != 0))  # one pair without a value
    rep = agree.agreement_report(pairs, ratings, pred="p", against="q", n_boot=N_BOOT, min_pairs=5)
    paired = rep.paired
    assert set(paired["metric"]) == set(agree.METRICS)
    row = paired[(paired["grouping"] == "overall") & (paired["metric"] == "lcc")].iloc[0]
    both = pairs.iloc[1:]
    assert row["n"] == len(pairs) - 1
    assert row["estimate"] == pytest.approx(sps.pearsonr(both["p"], both["mean_score"]).statistic)
    assert row["against"] == pytest.approx(sps.pearsonr(both["q"], both["mean_score"]).statistic)
    assert row["diff"] == pytest.approx(row["estimate"] - row["against"])
    assert row["lo"] <= row["diff"] <= row["hi"]
    assert set(rep.decomposition["predictor"]) == {"p", "q"}
    # Benjamini-Hochberg q-values over the groups of each metric (exploratory screen).
    for _metric, sub in paired.groupby("metric"):
        expected = stats.bh_qvalues(sub["p_value"].to_numpy(dtype=float))
        np.testing.assert_allclose(sub["q_value"].to_numpy(dtype=float), expected)
    assert (paired["q_value"].dropna() >= paired["p_value"].dropna()).all()
    # Every table says its resampling unit: captions by default.
    for table in (rep.agreement, rep.decomposition, paired):
        assert set(table["resampled"]) == {"captions"}
    text = agree.markdown.render_markdown(rep)
    assert "resampling unit: captions" in text and "| q |" in text


def test_report_resamples_captions_unless_told_pairs(report, ratings):
    """The overall SRCC interval is the caption bootstrap of the pairs (the ``text`` column);
    ``unit="pair"`` gives the pair bootstrap, and says so."""
    pairs = report.pairs.drop(columns="p_calibrated")
    overall = report.overall().loc["srcc"]
    direct = stats.bootstrap_report(
        pairs["p"], pairs["mean_score"], n_boot=N_BOOT, seed=0, clusters=pairs["text"]
    ).loc["srcc"]
    assert (overall["lo"], overall["hi"]) == (direct["lo"], direct["hi"])
    by_pair = agree.agreement_report(
        pairs, ratings, pred="p", n_boot=N_BOOT, min_pairs=5, unit="pair"
    )
    direct = stats.bootstrap_report(
        pairs["p"], pairs["mean_score"], n_boot=N_BOOT, seed=0, unit="pair"
    ).loc["srcc"]
    row = by_pair.overall().loc["srcc"]
    assert (row["lo"], row["hi"]) == (direct["lo"], direct["hi"])
    assert by_pair.resampled == "pairs" and set(by_pair.agreement["resampled"]) == {"pairs"}
    assert "resampling unit: pairs" in agree.markdown.render_markdown(by_pair)


# ----------------------------------------------------------------------------- the command
def _agree(tmp_path, relate_root, *args) -> int:
    return main(
        ["agree", *map(str, args), "--relate-dir", str(relate_root), "--n-boot", str(N_BOOT)]
    )


def test_cli_writes_every_file(tmp_path, relate_root, pairs, capsys, monkeypatch):
    monkeypatch.delenv("HUMANCLAP_ONTOLOGY", raising=False)  # offline, no ontology: no events
    path = tmp_path / "p.csv"
    frame = _write_predictions(path, pairs)
    frame.iloc[5:].to_csv(path, index=False)
    out = tmp_path / "out"
    assert (
        _agree(tmp_path, relate_root, path, "--pred-col", "pred", "--min-pairs", "5", "--out", out)
        == 0
    )
    err = capsys.readouterr().err
    assert "5 pair(s) of the test split have no prediction" in err
    names = {"agreement.csv", "decomposition.csv", "pairs.csv", "missing.csv", "extra.csv",
             "report.md", "forest.png"}  # fmt: skip
    assert names <= {p.name for p in out.iterdir()}
    table = pd.read_csv(out / "agreement.csv")
    assert list(table.columns[:8]) == [
        "grouping",
        "group",
        "metric",
        "estimate",
        "lo",
        "hi",
        "n",
        "ceiling_lcc",
    ]
    assert set(table["grouping"]) == {"overall", "origin", "source", "category"}
    assert table.loc[table["grouping"] != "category", "ceiling_lcc"].notna().all()
    assert len(pd.read_csv(out / "missing.csv")) == 5
    text = (out / "report.md").read_text()
    assert "**5 pair(s) missing**" in text and "Within each source the SRCC is" in text
    assert agree.NO_ONTOLOGY in text


def test_cli_with_the_ontology_adds_event_types(
    tmp_path, relate_root, pairs, ontology_path, monkeypatch
):
    monkeypatch.setenv("HUMANCLAP_ONTOLOGY", str(ontology_path))
    path = tmp_path / "p.csv"
    _write_predictions(path, pairs)
    out = tmp_path / "out"
    assert (
        _agree(tmp_path, relate_root, path, "--pred-col", "pred", "--min-pairs", "5", "--out", out)
        == 0
    )
    table = pd.read_csv(out / "agreement.csv")
    assert "event" in set(table["grouping"])
    assert agree.NO_ONTOLOGY not in (out / "report.md").read_text()


def test_cli_against_writes_paired(tmp_path, relate_root, pairs):
    main_file, other = tmp_path / "p.csv", tmp_path / "q.csv"
    _write_predictions(main_file, pairs)
    _write_predictions(other, pairs, seed=3)
    out = tmp_path / "out"
    args = [main_file, "--pred-col", "pred", "--against", other, "--min-pairs", "5", "--out", out]
    assert _agree(tmp_path, relate_root, *args) == 0
    paired = pd.read_csv(out / "paired.csv")
    assert set(paired["metric"]) == set(agree.METRICS) and (out / "paired.png").is_file()
    assert "`pred` against `against`" in (out / "report.md").read_text()
    assert {"q_value", "resampled"} <= set(paired.columns)
    assert set(paired["resampled"]) == {"captions"}
    out_pair = tmp_path / "out_pair"
    args = [main_file, "--pred-col", "pred", "--against", other, "--min-pairs", "5"]
    assert _agree(tmp_path, relate_root, *args, "--unit", "pair", "--out", out_pair) == 0
    for name in ("agreement.csv", "decomposition.csv", "paired.csv"):
        assert set(pd.read_csv(out_pair / name)["resampled"]) == {"pairs"}, name


@pytest.mark.parametrize(
    "edit, extra_args, message",
    [
        (lambda f: f.rename(columns={"pred": "x"}), [], "no column 'pred'"),
        (
            lambda f: f.assign(pred=f["pred"].astype(object).where(f.index != 3, "oops")),
            [],
            "line 5, column 'pred'",
        ),
        (lambda f: pd.concat([f, f.iloc[[0]]]), [], "duplicate key"),
        (
            lambda f: f,
            ["--split", "validation"],
            "nothing joins; the predictions are for the test split",
        ),
        (lambda f: f, ["--against-col", "pred"], "--against-col needs --against"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path, relate_root, pairs, capsys, edit, extra_args, message):
    path = tmp_path / "p.csv"
    edit(_write_predictions(path, pairs)).to_csv(path, index=False)
    status = _agree(
        tmp_path, relate_root, path, "--pred-col", "pred", *extra_args, "--out", tmp_path / "o"
    )
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and (str(path) in err or "--against" in message)
    assert not (tmp_path / "o").exists()


def test_cli_two_text_wavs(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HUMANCLAP_CATEGORIES", raising=False)
    root = _write_relate(tmp_path / "r", two_texts=True)
    pairs = pair_table(load_relate(root))
    test = pairs[pairs["split"] == "test"]
    path = tmp_path / "p.csv"
    _write_predictions(path, pairs, text=test["text"].to_numpy())
    args = [path, "--pred-col", "pred", "--min-pairs", "5", "--out", tmp_path / "o"]
    assert _agree(tmp_path, root, *args) == 2
    assert "/audiocaps/test/100.wav" in capsys.readouterr().err
    assert _agree(tmp_path, root, *args, "--text-col", "text") == 0


# ----------------------------------------------------------------------------- the real file
def test_xacle_baseline_numbers(
    relate_dir, categories_path, xacle_predictions, tmp_path, monkeypatch
):
    """The published SRCC 0.3606, LCC 0.3678, KTAU 0.2511 of the XACLE baseline on RELATE's test
    split (its ``gt_mos`` is the pair mean rounded to 2 decimals: they agree exactly)."""
    monkeypatch.setenv("HUMANCLAP_CATEGORIES", str(categories_path))
    run = agree.run_agree(
        xacle_predictions, "pred_mos", tmp_path / "out", relate_dir=relate_dir, n_boot=50
    )
    join = run.joins["predictions"]
    assert len(join.joined) == 1311 and join.missing.empty and join.extra.empty
    gt = pd.read_csv(xacle_predictions)["gt_mos"].to_numpy()
    np.testing.assert_allclose(np.sort(join.joined["mean_score"].round(2)), np.sort(gt))
    overall = run.report.overall()["estimate"]
    assert round(overall["srcc"], 4) == 0.3606
    assert round(overall["lcc"], 4) == 0.3678
    assert round(overall["ktau"], 4) == 0.2511
    assert overall["mse"] == pytest.approx(6.8688, abs=1e-3)  # 6.8685 on the exact means
    table = run.report.agreement
    for grouping, count in (("origin", 2), ("source", 5), ("category", 7)):
        rows = table[(table["grouping"] == grouping) & (table["metric"] == "lcc")]
        assert len(rows) == count and rows["ceiling_lcc"].between(0.5, 1).all()
    assert {p.name for p in run.files} >= {"agreement.csv", "report.md", "forest.png"}


# ----------------------------------------------------------------------------- issue 20, part 6
def _with_gaps(path: Path, pairs: pd.DataFrame, rows=(1, 4), column="pred") -> pd.DataFrame:
    """A predictions file whose ``rows`` have no prediction (an empty cell, as pandas writes the
    NaN of a clip ``humanclap score`` could not score)."""
    frame = _write_predictions(path, pairs).rename(columns={"pred": column})
    frame.loc[list(rows), column] = np.nan
    frame.to_csv(path, index=False)
    return frame


def test_missing_predictions_are_an_error_suggesting_drop_missing(tmp_path, relate_root, pairs):
    path = tmp_path / "p.csv"
    _with_gaps(path, pairs)
    with pytest.raises(agree.PredictionError) as err:
        agree.read_predictions(path, "pred")
    message = str(err.value)
    assert f"{path}: line 3, column 'pred'" in message and "lines 3, 6" in message
    assert "--drop-missing" in message


def test_drop_missing_drops_and_counts(tmp_path, relate_root, pairs, capsys):
    path = tmp_path / "p.csv"
    frame = _with_gaps(path, pairs)
    out = tmp_path / "out"
    args = [path, "--pred-col", "pred", "--min-pairs", "5", "--drop-missing", "--out", out]
    assert _agree(tmp_path, relate_root, *args) == 0
    err = capsys.readouterr().err
    assert "2 row(s) without a prediction dropped (--drop-missing): lines 3, 6" in err
    assert "2 pair(s) of the test split have no prediction" in err
    missing = pd.read_csv(out / "missing.csv")
    dropped = {w.removeprefix("./x/wav") for w in frame.loc[[1, 4], "wav_path"]}
    assert set(missing["wavname"]) == dropped  # their pairs are listed, never silently gone
    assert (
        "**2 row(s) without a prediction dropped** (`--drop-missing`; lines 3, 6)"
        in (out / "report.md").read_text()
    )
    # text that is not a number stays an error, --drop-missing or not
    frame.assign(pred=frame["pred"].astype(object).where(frame.index != 2, "oops")).to_csv(
        path, index=False
    )
    with pytest.raises(agree.PredictionError, match="line 4, column 'pred'"):
        agree.read_predictions(path, "pred", drop_missing=True)


def test_pred_col_defaults_to_the_score_column(tmp_path, relate_root, pairs, capsys):
    path = tmp_path / "scores.csv"
    frame = _with_gaps(path, pairs, column="clapscore_tiny")
    frame.assign(model="tiny", model_fingerprint="abc", error="", warning="").to_csv(
        path, index=False
    )  # as `humanclap score` writes it
    out = tmp_path / "out"
    args = [path, "--min-pairs", "5", "--drop-missing", "--out", out]
    assert _agree(tmp_path, relate_root, *args) == 0
    assert "`clapscore_tiny`" in (out / "report.md").read_text()
    frame.assign(clapscore_laion_x=1.0).to_csv(path, index=False)
    assert _agree(tmp_path, relate_root, *args) == 2
    assert "2 score columns (clapscore_tiny, clapscore_laion_x)" in capsys.readouterr().err


def test_against_has_its_own_key_column(tmp_path, relate_root, pairs, capsys):
    main_file, other = tmp_path / "p.csv", tmp_path / "q.csv"
    _write_predictions(main_file, pairs)
    _write_predictions(other, pairs, seed=3).rename(columns={"wav_path": "file"}).to_csv(
        other, index=False
    )
    out = tmp_path / "out"
    args = [main_file, "--pred-col", "pred", "--against", other, "--min-pairs", "5"]
    assert _agree(tmp_path, relate_root, *args, "--out", out) == 2
    assert f"{other}: no column 'wav_path'" in capsys.readouterr().err
    assert _agree(tmp_path, relate_root, *args, "--against-key-col", "file", "--out", out) == 0
    err = capsys.readouterr().err
    assert f"{other}: " in err and "(key column 'file')" in err
    assert f"`{other}`, column `pred` (key `file`)" in (out / "report.md").read_text()
    args = [main_file, "--pred-col", "pred", "--against-key-col", "f", "--out", out]
    assert _agree(tmp_path, relate_root, *args) == 2
    assert "--against-key-col needs --against" in capsys.readouterr().err


def test_no_ceiling_column_where_none_was_computed(report, tmp_path):
    bare = agree.agreement_report(
        report.pairs.drop(columns="p_calibrated"), None, pred="p", n_boot=N_BOOT, min_pairs=5
    )
    assert bare.agreement["ceiling_lcc"].isna().all()
    agree.write_report(bare, tmp_path / "out")
    assert "ceiling_lcc" not in pd.read_csv(tmp_path / "out" / "agreement.csv").columns
    text = (tmp_path / "out" / "report.md").read_text()
    assert "ceiling (LCC)" not in text and "0.000" not in text
    assert "No noise ceiling was computed" in text


def test_a_clipped_zero_ceiling_is_no_ceiling(report, ratings, monkeypatch):
    real = stats.reliability_by

    def zero_for_tango(*args, **kwargs):
        rel = real(*args, **kwargs)
        rel.loc[rel["group"] == "tango", "ceiling_lcc"] = 0.0  # a negative reliability, clipped
        return rel

    monkeypatch.setattr(stats, "reliability_by", zero_for_tango)
    pairs = report.pairs.drop(columns="p_calibrated")
    rep = agree.agreement_report(pairs, ratings, pred="p", n_boot=N_BOOT, min_pairs=5)
    table = rep.agreement
    assert table.loc[table["group"] == "tango", "ceiling_lcc"].isna().all()
    assert table.loc[table["group"] != "tango", "ceiling_lcc"].notna().all()
    row = next(r for r in agree.markdown.render_markdown(rep).splitlines() if "| tango |" in r)
    assert "0.000" not in row and "–" in row


def test_paired_holm_overall_and_bh_across_groups(report, ratings):
    pairs = report.pairs.drop(columns="p_calibrated")
    other = pairs["mean_score"] + np.random.default_rng(5).normal(0, 1, len(pairs))
    rep = agree.agreement_report(
        pairs.assign(q=other), ratings, pred="p", against="q", n_boot=N_BOOT, min_pairs=5
    )
    paired = rep.paired
    overall = paired["grouping"] == "overall"
    np.testing.assert_allclose(
        paired.loc[overall, "p_holm"], stats.holm(paired.loc[overall, "p_value"].to_numpy(float))
    )
    assert paired.loc[~overall, "p_holm"].isna().all()
    assert (paired.loc[overall, "p_holm"] >= paired.loc[overall, "p_value"]).all()
    assert "adjusted by Holm" in agree.markdown.render_markdown(rep)


def test_agree_command_never_imports_torch(tmp_path, relate_root, pairs):
    """``humanclap agree`` runs where torch is not installed (a core-only install)."""
    import subprocess
    import sys

    path = tmp_path / "p.csv"
    _write_predictions(path, pairs)
    argv = ["agree", str(path), "--pred-col", "pred", "--relate-dir", str(relate_root),
            "--n-boot", "20", "--min-pairs", "5", "--out", str(tmp_path / "out")]  # fmt: skip
    code = (
        "import sys; from humanclap.cli import main; status = main(sys.argv[1:]); "
        "print(status, 'torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300
    )
    assert done.stdout.split() == ["0", "False"], done.stderr
