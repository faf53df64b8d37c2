"""Event types from AudioSet's labels at one ontology level, the matcher against the labels, the
matcher's word-sense rules, and the ranking of event types with q-values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps
from test_ontology import ANIMAL, HUMAN, MUSIC, NATURAL, RECORDS, THINGS, _cls

from humanclap import agree, stats
from humanclap.data import (
    EVENT_LEVEL,
    NO_EVENT,
    Ontology,
    caption_events,
    class_types,
    clip_events,
    evaluate_matcher,
    label_categories,
    level_types,
    load_audioset_labels,
    load_ontology,
    load_relate,
    pair_events,
    pair_table,
)
from humanclap.data.matcher_eval import set_scores

#: The small ontology of test_ontology, plus: Hiss below Cat and Wind (several parents), a
#: Purr below Cat, and "Vehicle horn" also a child of Alarm (depth 2 there, 3 below Car).
EXTRA = [
    _cls("hiss", "Hiss"),
    _cls("purr", "Purr"),
    _cls("alarm", "Alarm", ["horn"]),
    _cls("whistling", "Whistling"),
]


def _small() -> Ontology:
    records = [dict(r, child_ids=list(r["child_ids"])) for r in RECORDS]
    by_id = {r["id"]: r for r in records}
    by_id["cat"]["child_ids"] += ["hiss", "purr"]
    by_id["wind"]["child_ids"] += ["hiss"]
    by_id[THINGS]["child_ids"] += ["alarm"]
    by_id[HUMAN]["child_ids"] += ["whistling"]
    return Ontology(records + EXTRA, source="small+")


@pytest.fixture(scope="module")
def small() -> Ontology:
    return _small()


@pytest.fixture(scope="module")
def real(ontology_path) -> Ontology:
    return load_ontology(ontology_path)


def _types(ids, onto, depth=2):
    return {(e, kind) for _, e, kind, _ in class_types(ids, onto, depth)}


# ------------------------------------------------------------------------------ the level
def test_level_types_are_an_antichain(small, real):
    # depth 2 of the small one: Bark, Howl, Meow, Honk, Car, Horn (below Alarm), Hiss, Purr,
    # Male/Female speech, Howl (wind); Horn is also below Car (depth 2): not a type.
    types = level_types(small, 2)
    assert "horn" not in types and "car" in types and "hiss" in types
    assert "whistling" in types  # a leaf at depth 1: nothing finer exists
    assert "run" in types and MUSIC in types  # leaves shallower than 2, below no type
    for onto in (small, real):
        for depth in (1, 2, 3):
            t = level_types(onto, depth)
            assert not any(a in onto.ancestors(b) for a in t for b in t), depth
    with pytest.raises(ValueError, match="depth"):
        level_types(small, -1)


def test_class_types_rules(small):
    # a deep label rolls up; a shallower one beside a finer label is dropped
    assert _types(["bark", "dog", ANIMAL], small, 1) == {("Dog", "type")}
    assert _types(["bark", "dog", ANIMAL], small, 2) == {("Bark", "type")}
    # a shallower label alone is unspecified
    assert _types(["vehicle"], small) == {("Vehicle (unspecified)", "unspecified")}
    # the horn: itself (below Alarm) or Car; no context -> unspecified; with Car -> Car
    assert _types(["horn"], small) == {("Vehicle horn, car horn, honking (unspecified)",
                                        "unspecified")}  # fmt: skip
    assert _types(["horn", "car"], small) == {("Car", "type")}
    # an unplaced label below an unplaced coarser one: the coarser one says as much
    assert _types(["vehicle", "horn"], small) == {("Vehicle (unspecified)", "unspecified")}
    # other labels are typed on their own
    assert _types(["vehicle", "horn", "meow"], small) == {
        ("Meow", "type"),
        ("Vehicle (unspecified)", "unspecified"),
    }
    # Hiss: Cat (depth 1) or Wind (depth 1); at depth 1 the clip decides
    assert _types(["hiss"], small, 1) == {("Hiss (unspecified)", "unspecified")}
    assert _types(["hiss", "meow"], small, 1) == {("Cat", "type")}
    assert _types(["whistling"], small) == {("Whistling", "type")}
    # Howl: below Dog and Canidae (both depth 1); Bark beside it places it under Dog
    assert class_types(["bark", "howl"], small, 1) == [("dog", "Dog", "type", "Bark|Howl")]
    assert _types(["howl"], small, 1) == {("Howl (unspecified)", "unspecified")}
    with pytest.raises(Exception, match="unknown AudioSet class"):
        class_types(["nope"], small)


def test_clip_and_pair_events(small):
    labels = pd.DataFrame(
        {
            "audiocap_id": [1, 2],
            "mids": [("bark", "male"), ("vehicle",)],
            "caption": ["A dog barks and a man speaks", "Traffic"],
        }
    )
    clips = clip_events(labels, small, 2)
    assert set(clips.loc[clips["audiocap_id"] == 1, "event"]) == {
        "Bark",
        "Male speech, man speaking",
    }
    pairs = pd.DataFrame(
        {
            "wavname": ["/audiocaps/x/1.wav", "/tango/x/1.wav", "/audiocaps/x/9.wav", "/a/3.wav",
                        "/a/4.wav"],
            "text": ["A dog barks and a man speaks", "A dog barks and a man speaks", "Traffic",
                     "A cat meows", "Quiet"],
            "audiocap_id": [1, 1, 9, 3, 4],
        }
    )  # fmt: skip
    table = pair_events(pairs, labels, small, depth=1)
    by = table.groupby("wavname")
    assert set(by.get_group("/tango/x/1.wav")["event"]) == {"Dog", "Speech"}  # its caption's clip
    assert set(by.get_group("/audiocaps/x/9.wav")["event"]) == {"Vehicle"}  # clip 2's caption
    assert by.get_group("/a/3.wav")["event"].tolist() == ["Cat"]  # the matcher
    assert by.get_group("/a/4.wav")["event"].tolist() == [NO_EVENT]
    sources = table.drop_duplicates("wavname").set_index("wavname")["event_source"]
    assert sources.tolist() == ["AudioSet labels"] * 3 + ["caption matcher"] * 2
    assert table.attrs["pairs_from_matcher"] == 2 and table.attrs["pairs_without_event"] == 1
    assert table["n_events"].tolist() == [2, 2, 2, 2, 1, 1, 0]
    assert list(table.columns[:3]) == ["wavname", "text", "audiocap_id"]
    none = pair_events(pairs, None, small, depth=1)
    assert set(none["event_source"]) == {"caption matcher"}


def test_label_categories(small):
    labels = pd.DataFrame({"audiocap_id": [1, 2], "mids": [("hiss",), ("male", "bark")]})
    table = label_categories(labels, small)
    assert table["category_ids"].tolist() == [(ANIMAL, NATURAL), (HUMAN, ANIMAL)]
    assert table["categories"].tolist() == ["Animal|Natural sounds", "Human sounds|Animal"]


# ------------------------------------------------------------------------------ evaluation
def test_set_scores_by_hand():
    truth = [{"a", "b"}, {"a"}, {"c"}, set()]
    pred = [{"a"}, {"a", "c"}, {"b"}, {"c"}]
    table, summary = set_scores(truth, pred)
    t = table.set_index("event")
    # a: labelled 2, predicted 2, correct 2; b: 1, 1, 0; c: 1, 2, 0
    assert t.loc["a", ["n_labelled", "n_predicted", "n_correct"]].tolist() == [2, 2, 2]
    assert t.loc["c", "precision"] == 0 and t.loc["c", "recall"] == 0
    assert t.loc["a", "f1"] == 1
    assert summary["micro_precision"] == pytest.approx(2 / 5)
    assert summary["micro_recall"] == pytest.approx(2 / 4)
    assert summary["macro_precision"] == pytest.approx((1 + 0 + 0) / 3)
    assert summary["macro_recall"] == pytest.approx((1 + 0 + 0) / 3)
    with pytest.raises(ValueError):
        set_scores(truth, pred[:2])


def test_evaluate_matcher_by_hand(small):
    labels = pd.DataFrame(
        {"audiocap_id": [1, 2, 3], "mids": [("bark",), ("meow", "male"), ("car",)]}
    )
    pairs = pd.DataFrame(
        {
            "audiocap_id": [1, 1, 2, 3],
            "text": ["A dog barks", "A dog barks", "A cat meows", "A goose honks"],
        }
    )
    result = evaluate_matcher(pairs, labels, small, depth=2)
    t = result.per_type.set_index("event")
    # items: (Bark | Bark), (Meow, Male speech | Meow), (Car | Honk)
    assert result.summary["n_captions"] == 3
    assert t.loc["Bark", ["n_labelled", "n_predicted", "n_correct"]].tolist() == [1, 1, 1]
    assert t.loc["Male speech, man speaking", "recall"] == 0
    assert t.loc["Honk", "precision"] == 0 and np.isnan(t.loc["Honk", "recall"])
    assert result.summary["micro_precision"] == pytest.approx(2 / 3)
    assert result.summary["micro_recall"] == pytest.approx(2 / 4)
    assert result.confusions.to_dict("records") == [
        {"predicted": "Honk", "labelled": "Car", "n": 1}
    ]
    with pytest.raises(Exception, match="no AudioSet labels"):
        evaluate_matcher(pairs.assign(audiocap_id=7), labels, small)


# ------------------------------------------------------------------------------ word senses
@pytest.mark.parametrize(
    ("caption", "present", "absent"),
    [
        ("An engine humming loudly", {"Hum"}, {"Humming"}),
        ("A motor hums", {"Hum"}, {"Humming"}),
        ("A fridge humming", {"Hum"}, {"Humming"}),
        ("Vibrations from a humming engine", {"Hum"}, {"Humming"}),
        ("An engine idles and hums then shuts off", {"Idling"}, {"Humming"}),
        ("Humming and vibrating of an engine followed by footsteps", {"Hum"}, {"Humming"}),
        ("A man humming", {"Humming"}, {"Hum"}),
        ("A woman speaks and hums", {"Humming"}, set()),
        ("Birds singing", {"Bird"}, {"Singing"}),
        ("A bird cries", {"Bird"}, {"Crying, sobbing"}),
        ("Birds are tweeting and singing", {"Chirp, tweet"}, {"Singing"}),
        ("A woman singing", {"Singing"}, set()),
        ("A cat purring", {"Purr"}, set()),
        ("An engine purring", {"Engine"}, {"Purr"}),
        ("A man whistling", {"Whistling"}, {"Whistle"}),
        ("Wind whistling", {"Wind"}, {"Whistling"}),
        ("A baby crying", {"Baby cry, infant cry"}, set()),
        ("A car passes a dog", {"Car", "Dog"}, set()),
    ],
)
def test_word_senses(real, caption, present, absent):
    names = set(caption_events([caption], real)["class_name"])
    assert present <= names and not absent & names, names


def test_engine_humming_is_not_the_human_voice(real):
    events = caption_events(["An engine humming loudly"], real)
    assert "/m/02fxyj" not in set(events["class_id"])
    assert "/m/02fxyj" in set(caption_events(["A man humming"], real)["class_id"])


# ------------------------------------------------------------------------------ RELATE
@pytest.fixture(scope="module")
def relate_pairs(relate_dir):
    return pair_table(load_relate(relate_dir, categories=False))


def test_relate_pairs_get_their_clips_labels(relate_pairs, real):
    table = pair_events(relate_pairs, load_audioset_labels(), real, EVENT_LEVEL)
    assert table.attrs["pairs_from_matcher"] == 0 and table.attrs["pairs_without_event"] == 0
    assert set(table["event_source"]) == {"AudioSet labels"}
    ids = table.loc[table["event_kind"] == "type", "event_id"].unique()
    assert not any(a in real.ancestors(b) for a in ids for b in ids)
    assert "Vehicle" not in set(table["event"]) and "Motor vehicle (road)" in set(table["event"])
    # the synthesized clips of a caption share its natural clip's types
    one = table[table["audiocap_id"] == table["audiocap_id"].iloc[0]]
    per_wav = one.groupby("wavname")["event"].agg(frozenset)
    assert per_wav.nunique() == 1 and len(per_wav) >= 2
    evaluation = evaluate_matcher(relate_pairs, load_audioset_labels(), real)
    humming = evaluation.per_type.set_index("event").loc["Humming"]
    assert humming["n_labelled"] == 0  # no RELATE clip carries the human-voice Humming


# ------------------------------------------------------------------------------ ranking
def test_rank_events_against_direct_computation():
    rng = np.random.default_rng(1)
    n_captions = 60
    text = np.repeat([f"c{i}" for i in range(n_captions)], 3)
    pairs = pd.DataFrame({"wavname": [f"w{i}" for i in range(len(text))], "text": text})
    pairs["mean_score"] = rng.normal(size=len(pairs))
    pairs["p"] = pairs["mean_score"] + rng.normal(size=len(pairs))
    kind = np.where(np.arange(n_captions) < 20, "a", np.where(np.arange(n_captions) < 50, "b", "c"))
    events = pairs[["wavname", "text"]].assign(event=np.repeat(kind, 3))
    events.loc[events.index[-3:], "event"] = NO_EVENT
    table = agree.rank_events(pairs, events, "p", min_pairs=20, n_perm=199, seed=0)
    assert table["event"].tolist() == sorted(table["event"], key=dict(
        zip(table["event"], -table["estimate"], strict=True)).get)  # fmt: skip
    assert set(table["event"]) == {"a", "b", "c"}  # c: 27 pairs, its last caption is (none)
    few = agree.rank_events(pairs, events, "p", min_pairs=28, n_perm=9)
    assert set(few["event"]) == {"a", "b"}
    for row in table.itertuples():
        inside = events.loc[events["event"] == row.event, "wavname"]
        sub = pairs[pairs["wavname"].isin(inside)]
        rest = pairs[~pairs["wavname"].isin(inside)]
        assert row.estimate == pytest.approx(sps.pearsonr(sub["p"], sub["mean_score"]).statistic)
        assert row.rest == pytest.approx(sps.pearsonr(rest["p"], rest["mean_score"]).statistic)
        assert row.n == len(sub) and row.n_captions == len(sub) // 3
        assert 1 / 200 <= row.p_value <= 1
    np.testing.assert_allclose(table["q_value"], stats.bh_qvalues(table["p_value"]))
    assert table.attrs == {"metric": "lcc", "n_perm": 199, "permuted": "captions"}
    srcc = agree.rank_events(pairs, events, "p", metric="srcc", min_pairs=20, n_perm=19)
    a = srcc.set_index("event").loc["a"]
    sub = pairs.iloc[:60]
    assert a["estimate"] == pytest.approx(sps.spearmanr(sub["p"], sub["mean_score"]).statistic)
    with pytest.raises(ValueError, match="metric"):
        agree.rank_events(pairs, events, "p", metric="mse")


def test_rank_events_null_is_calibrated():
    """With no type effect, p-values are roughly uniform: few below 0.05."""
    rng = np.random.default_rng(2)
    n_captions = 80
    text = np.repeat([f"c{i}" for i in range(n_captions)], 3)
    pairs = pd.DataFrame({"wavname": [f"w{i}" for i in range(len(text))], "text": text})
    small_p = 0
    for rep in range(20):
        pairs["mean_score"] = rng.normal(size=len(pairs))
        pairs["p"] = 0.5 * pairs["mean_score"] + rng.normal(size=len(pairs))
        kind = rng.permutation(np.repeat(["a", "b", "c", "d"], n_captions // 4))
        events = pairs[["wavname", "text"]].assign(event=np.repeat(kind, 3))
        table = agree.rank_events(pairs, events, "p", min_pairs=20, n_perm=99, seed=rep)
        small_p += int((table["p_value"] < 0.05).sum())
    assert small_p <= 10  # 80 tests; about 4 expected


def test_agreement_report_ranks_event_types(tmp_path):
    """``agreement_report`` with events carries the ranking (q-values), and ``humanclap agree``'s
    files show it."""
    rng = np.random.default_rng(3)
    n_captions = 40
    text = np.repeat([f"c{i}" for i in range(n_captions)], 3)
    pairs = pd.DataFrame(
        {
            "wavname": [
                f"/{s}/test/{i}.wav"
                for i, s in enumerate(["audiocaps", "tango", "audioldm"] * n_captions)
            ],
            "text": text,
            "source": ["audiocaps", "tango", "audioldm"] * n_captions,
        }
    )
    pairs["mean_score"] = rng.normal(size=len(pairs))
    pairs["p"] = pairs["mean_score"] + rng.normal(size=len(pairs))
    kind = np.where(np.arange(n_captions) < 15, "a", "b")
    events = pairs[["wavname", "text"]].assign(event=np.repeat(kind, 3))
    report = agree.agreement_report(pairs, pred="p", events=events, n_boot=49, min_pairs=10)
    direct = agree.rank_events(pairs, events, "p", min_pairs=10, n_perm=49, seed=0)
    pd.testing.assert_frame_equal(report.event_ranking, direct)
    agree.write_report(report, tmp_path)
    assert (tmp_path / "event_ranking.csv").exists()
    text = (tmp_path / "report.md").read_text()
    assert "Event types, ranked (exploratory)" in text and "| q |" in text
    assert agree.agreement_report(pairs, pred="p", n_boot=9, min_pairs=10).event_ranking is None
