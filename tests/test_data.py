"""humanclap.data: RELATE loading, screening, splits, pairs, categories.

Real-data tests use the RELATE files found by the ``relate_dir`` fixture (skipped when absent)
and recompute counts independently with the ``csv`` module. Bad-input tests write small
fixture CSVs to ``tmp_path``.
"""

from __future__ import annotations

import csv
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from humanclap.data import (
    CATEGORY_NAMES,
    SOURCES,
    RelateDataError,
    explode_categories,
    load_categories,
    load_relate,
    pair_table,
    resolve_relate_root,
    screening_summary,
)
from humanclap.data import relate as relate_module

REL_HEADER = [
    "wavname",
    "text",
    "score",
    "listener_id",
    "audio type",
    "anchor label",
    "in RELATE dataset",
    "in AudioCaps",
]
ISOS_HEADER = [c for c in REL_HEADER if c != "in RELATE dataset"]
CAT_HEADER = ["audiocaps_id", "caption", "caption_label"]


# ------------------------------------------------------------------------------ helpers
def _read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _rel_row(wav, text, score=7, listener="0001", anchor=False, split="train"):
    folder = wav.split("/")[2]
    return [wav, text, score, listener, "natural", anchor, split, "" if anchor else folder]


def _isos_row(wav, text, score=7, listener="10001", anchor=False):
    folder = wav.split("/")[2]
    return [wav, text, score, listener, "natural", anchor, "" if anchor else folder]


def _small_world(root: Path) -> Path:
    """A tiny valid RELATE-layout folder: 2 clips x 2 sources, an anchor, an excluded listener."""
    rel = [
        _rel_row("/audiocaps/train/11.wav", "A dog barks", 8, "0001"),
        _rel_row("/tango/train/11.wav", "A dog barks", 6, "0001"),
        _rel_row("/audiocaps/train/11.wav", "A dog barks", 10, "0002"),
        _rel_row("/audiocaps/test/22.wav", "Rain falls", 9, "0001", split="test"),
        _rel_row("/tango2/test/22.wav", "Rain falls", 3, "0002", split="test"),
        _rel_row("/audiocaps/test/22.wav", "A dog barks", 0, "0001", anchor=True, split="excluded"),
        _rel_row("/audiocaps/train/11.wav", "A dog barks", 2, "0003", split="excluded"),
    ]
    _write_csv(root / "scores" / "REL.csv", REL_HEADER, rel)
    isos = [
        _isos_row("/audiocaps/train/11.wav", "A dog barks", 9, "10001"),
        _isos_row("/tango/train/11.wav", "A dog barks", 4, "10001"),
        # a pair absent from REL whose clip (audiocap_id 22) has a REL split
        _isos_row("/audioldm/test/22.wav", "Rain falls", 5, "10001"),
        # a clip without any screened REL rating
        _isos_row("/audiocaps/test/33.wav", "Wind blows", 5, "10002"),
        _isos_row("/audiocaps/test/22.wav", "A dog barks", 1, "10002", anchor=True),
    ]
    for aspect in ("IS", "OS"):
        _write_csv(root / "scores" / f"{aspect}.csv", ISOS_HEADER, isos)
    return root


def _rel_with(tmp_path: Path, rows: list[list[object]], header=REL_HEADER) -> Path:
    _write_csv(tmp_path / "scores" / "REL.csv", header, rows)
    return tmp_path / "scores" / "REL.csv"


def _assert_names(message: str, *parts: object) -> None:
    for part in parts:
        assert str(part) in message, f"{part!r} not in {message!r}"


# ------------------------------------------------------------------- real data, loaded once
@pytest.fixture(scope="module")
def rel_csv(relate_dir: Path) -> list[dict[str, str]]:
    return _read_csv_rows(relate_dir / "scores" / "REL.csv")


@pytest.fixture(scope="module")
def rel(relate_dir: Path, categories_path: Path) -> pd.DataFrame:
    return load_relate(relate_dir, categories=categories_path)


@pytest.fixture(scope="module")
def rel_readme(relate_dir: Path) -> pd.DataFrame:
    return load_relate(relate_dir, categories=False, drop_anchors=False)


@pytest.fixture(scope="module")
def rel_all(relate_dir: Path) -> pd.DataFrame:
    return load_relate(relate_dir, screened=False, categories=False)


@pytest.fixture(scope="module")
def isos(relate_dir: Path) -> dict[str, pd.DataFrame]:
    return {a: load_relate(relate_dir, aspect=a, categories=False) for a in ("IS", "OS")}


def _source(wavname: str) -> str:
    return wavname.split("/")[1]


# ---------------------------------------------------------------------------- REL, real data
def test_rel_screened_counts_match_csv_module(rel, rel_csv):
    kept = [
        r for r in rel_csv if r["in RELATE dataset"] != "excluded" and r["anchor label"] == "False"
    ]
    assert len(rel) == len(kept)
    assert rel.groupby("split").size().to_dict() == Counter(r["in RELATE dataset"] for r in kept)
    assert rel.groupby("source").size().to_dict() == Counter(_source(r["wavname"]) for r in kept)
    # pinned: the paper's table (train 9,963; validation + test 7,797) and observed per source
    assert len(rel) == 17_760
    assert rel.groupby("split").size().to_dict() == {
        "train": 9_963,
        "validation": 3_897,
        "test": 3_900,
    }
    assert rel.groupby("source").size().to_dict() == {
        "audiocaps": 5_920,
        "audioldm": 2_959,
        "audioldm2": 2_961,
        "tango": 2_961,
        "tango2": 2_959,
    }
    assert not rel["anchor"].any()


def test_rel_readme_rule_keeps_14_labelled_anchors(rel_readme, rel_csv):
    not_excluded = [r for r in rel_csv if r["in RELATE dataset"] != "excluded"]
    assert len(rel_readme) == len(not_excluded) == 17_774
    assert int(rel_readme["anchor"].sum()) == 14
    assert rel_readme.attrs["screening"]["anchors_kept"] == 14
    assert rel_readme.loc[rel_readme["anchor"], "split"].value_counts().to_dict() == {
        "train": 13,
        "validation": 1,
    }


def test_three_wavs_with_two_texts_are_labelled_anchors(rel_readme, rel):
    texts = rel_readme.groupby("wavname")["text"].nunique()
    two = sorted(texts[texts > 1].index)
    assert two == [
        "/audiocaps/test/105433.wav",
        "/audiocaps/train/39576.wav",
        "/audiocaps/train/73803.wav",
    ]
    for wav in two:  # one real caption, one anchor caption
        rows = rel_readme[rel_readme["wavname"] == wav]
        assert rows.groupby("text")["anchor"].first().sort_values().tolist() == [False, True]
    # once anchors are dropped, a wav has one text; pairs are still keyed by (wavname, text)
    assert rel.groupby("wavname")["text"].nunique().max() == 1


def test_rel_pair_counts(rel, rel_readme, rel_csv):
    pairs = pair_table(rel)
    kept = {
        (r["wavname"], r["text"])
        for r in rel_csv
        if r["in RELATE dataset"] != "excluded" and r["anchor label"] == "False"
    }
    assert len(pairs) == len(kept) == 5_460
    assert pairs.groupby("split").size().to_dict() == {
        "train": 2_862,
        "validation": 1_287,
        "test": 1_311,
    }
    assert len(pair_table(rel_readme)) == 5_463
    assert pairs["n_ratings"].sum() == len(rel)


def test_listener_id_is_string_with_leading_zeros(rel_all, rel_csv):
    assert pd.api.types.is_string_dtype(rel_all["listener_id"])
    assert rel_all["listener_id"].iloc[0] == rel_csv[0]["listener_id"] == "0000"
    assert rel_all["listener_id"].str.len().eq(4).all()
    assert rel_all["listener_id"].nunique() == 1_370


def test_captions_crossing_rel_splits(rel, rel_readme):
    def crossing(df):
        n = df.groupby("text")["split"].nunique()
        return sorted(n[n > 1].index)

    three = ["A clock ticking", "A toilet is flushed", "A woman delivering a speech"]
    assert crossing(rel) == three
    assert crossing(rel_readme) == sorted([*three, "A dog whimpering and crying"])
    # the three are different clips sharing a caption string; a clip never crosses splits
    assert rel.groupby("audiocap_id")["split"].nunique().max() == 1
    for text in three:
        by_split = rel[rel["text"] == text].groupby("split")["audiocap_id"].unique()
        ids = [set(v) for v in by_split]
        assert all(a.isdisjoint(b) for i, a in enumerate(ids) for b in ids[i + 1 :])


def test_rel_train_split_is_audiocaps_train(rel):
    assert ((rel["split"] == "train") == (rel["audiocaps_split"] == "train")).all()


def test_source_comes_from_wav_folder_not_audio_type(rel_all, rel_csv):
    assert set(rel_all["source"]) == set(SOURCES)
    by_type = Counter((_source(r["wavname"]), r["audio type"]) for r in rel_csv)
    assert by_type[("tango2", "tango")] > 0  # "audio type" merges Tango and Tango2
    assert rel_all["source"].tolist() == [_source(r["wavname"]) for r in rel_csv]
    assert rel_all["audiocap_id"].tolist() == [
        int(r["wavname"].rsplit("/", 1)[1][:-4]) for r in rel_csv
    ]


def test_rel_screening_report(rel, rel_csv, relate_dir):
    s = rel.attrs["screening"]
    excluded = [r for r in rel_csv if r["in RELATE dataset"] == "excluded"]
    assert s["rows_before"] == len(rel_csv) == 28_770
    assert s["anchors_removed"] == sum(r["anchor label"] == "True" for r in rel_csv) == 4_110
    assert s["screened_listener_rows_removed"] == sum(
        r["anchor label"] == "False" for r in excluded
    )
    assert s["rows_removed"] == s["anchors_removed"] + s["screened_listener_rows_removed"]
    assert s["rows_after"] == s["rows_before"] - s["rows_removed"] == len(rel)
    all_listeners = {r["listener_id"] for r in rel_csv}
    assert s["listeners_removed"] == len(all_listeners) - rel["listener_id"].nunique() == 282

    summary = screening_summary(relate_dir)
    assert list(summary.index) == [*SOURCES, "all"]
    assert summary.loc["all"].to_dict() == s
    row_columns = ["rows_before", "rows_removed", "anchors_removed", "rows_after"]
    assert (summary.loc[list(SOURCES), row_columns].sum() == summary.loc["all", row_columns]).all()
    assert summary.loc["tango2", "rows_after"] == (rel["source"] == "tango2").sum()


def test_unscreened_keeps_all_rows_and_pairs_need_screening(rel_all, rel_csv):
    assert len(rel_all) == len(rel_csv)
    assert rel_all.attrs["screening"] is None
    assert rel_all["split"].tolist() == [r["in RELATE dataset"] for r in rel_csv]
    with pytest.raises(RelateDataError, match="more than one split"):
        pair_table(rel_all)


def test_pair_table_statistics(rel):
    pairs = pair_table(rel).set_index(["wavname", "text"])
    for (wav, text), row in pairs.sample(5, random_state=0).iterrows():
        scores = rel.loc[(rel["wavname"] == wav) & (rel["text"] == text), "score"].to_numpy()
        assert row["n_ratings"] == len(scores)
        assert row["mean_score"] == pytest.approx(scores.mean())
        if len(scores) > 1:
            assert row["sd_score"] == pytest.approx(np.std(scores, ddof=1))
        assert row["target"] == pytest.approx(scores.mean() / 10)
    assert pairs["target"].between(0, 1).all()
    assert pairs.loc[pairs["n_ratings"] == 1, "sd_score"].isna().all()


# ------------------------------------------------------------------------- IS/OS, real data
def _independent_isos_split_counts(relate_dir: Path, aspect: str) -> Counter:
    pair_split: dict[tuple[str, str], str] = {}
    for r in _read_csv_rows(relate_dir / "scores" / "REL.csv"):
        if r["anchor label"] == "False" and r["in RELATE dataset"] != "excluded":
            pair_split[(r["wavname"], r["text"])] = r["in RELATE dataset"]
    counts: Counter = Counter()
    for r in _read_csv_rows(relate_dir / "scores" / f"{aspect}.csv"):
        if r["anchor label"] == "True":
            counts["anchor"] += 1
        else:
            counts[pair_split.get((r["wavname"], r["text"]), "unassigned")] += 1
    return counts


@pytest.mark.parametrize("aspect", ["IS", "OS"])
def test_isos_derived_split_counts(isos, relate_dir, aspect):
    df = isos[aspect]
    expected = _independent_isos_split_counts(relate_dir, aspect)
    got = df.groupby("split").size().to_dict()
    assert got == {k: v for k, v in expected.items() if k in ("train", "validation", "test")}
    assert got == {"train": 11_616, "validation": 5_199, "test": 5_622}
    s = df.attrs["screening"]
    assert s["anchors_removed"] == expected["anchor"] == 4_119
    assert s["unassigned_rows_removed"] == expected["unassigned"] == 2_277
    assert s["rows_after"] == len(df) == 22_437
    assert s["rows_before"] - s["rows_removed"] == s["rows_after"]
    rule = df.attrs["split_rule"]
    assert rule["rows_split_from_pair"] == 22_437
    assert rule["rows_split_from_audiocap_id"] == 0
    assert rule["rows_pair_and_audiocap_id_disagree"] == 0
    assert len(pair_table(df)) == 5_331
    assert df["listener_id"].str.len().eq(5).all()  # IS/OS listeners are 10000...


def test_isos_pairs_share_rel_split(isos, rel):
    rel_split = pair_table(rel).set_index(["wavname", "text"])["split"]
    is_split = pair_table(isos["IS"]).set_index(["wavname", "text"])["split"]
    assert (rel_split.reindex(is_split.index) == is_split).all()


# --------------------------------------------------------------------------- categories
def test_categories_cover_every_relate_clip(relate_dir, categories_path, rel_all, isos):
    table = load_categories(categories_path)
    assert len(table) == 2_000
    assert table["audiocap_id"].is_unique
    ids = set(rel_all["audiocap_id"]) | set(isos["IS"]["audiocap_id"])
    ids |= set(load_relate(relate_dir, aspect="IS", screened=False, categories=False).audiocap_id)
    assert ids <= set(table["audiocap_id"])
    names = set(table["categories"].str.split("|").explode())
    assert names <= set(CATEGORY_NAMES)
    row = _read_csv_rows(categories_path)[0]  # first row, checked by hand
    assert (row["audiocaps_id"], row["caption_label"]) == ("9205", "/m/0jbk")
    assert table.iloc[0][["audiocap_id", "categories"]].tolist() == [9205, "Animal"]


def test_load_relate_with_categories(rel, categories_path):
    assert rel.attrs["categories"] == str(categories_path)
    assert rel.attrs["categories_missing_rows"] == 0
    assert (rel["categories"] != "").all()
    assert (rel["category"] == rel["categories"].str.split("|").str[0]).all()
    # matches the table joined by audiocap_id
    table = load_categories(categories_path).set_index("audiocap_id")["categories"]
    assert (rel["categories"] == rel["audiocap_id"].map(table)).all()


def test_explode_categories(rel):
    pairs = pair_table(rel)
    exploded = explode_categories(pairs)
    n_categories = pairs["categories"].str.split("|").str.len()
    assert len(exploded) == n_categories.sum()
    assert exploded.attrs["pairs_without_category"] == 0
    multi = pairs[n_categories > 1].iloc[0]
    rows = exploded[(exploded["wavname"] == multi["wavname"]) & (exploded["text"] == multi["text"])]
    assert rows["category"].tolist() == multi["categories"].split("|")
    assert set(exploded["category"]) <= set(CATEGORY_NAMES)


def test_categories_auto_from_audioset_labels(relate_dir, ontology_path, monkeypatch):
    from humanclap.data import label_categories, load_audioset_labels, load_ontology

    monkeypatch.delenv("HUMANCLAP_ONTOLOGY", raising=False)
    df = load_relate(relate_dir)  # "auto" with no ontology found: the offline cache is empty
    assert df.attrs["categories"] is None
    assert "categories" not in df.columns
    with pytest.raises(RelateDataError, match="ontology"):
        load_relate(relate_dir, categories=True, download=False)
    monkeypatch.setenv("HUMANCLAP_ONTOLOGY", str(ontology_path))
    df = load_relate(relate_dir)
    assert df.attrs["categories"].startswith("AudioSet labels of the clips")
    assert df.attrs["categories_missing_rows"] == 0
    table = label_categories(load_audioset_labels(), load_ontology(ontology_path))
    expected = df["audiocap_id"].map(table.set_index("audiocap_id")["categories"])
    assert (df["categories"] == expected).all() and (df["categories"] != "").all()
    assert (df["category"] == df["categories"].str.split("|").str[0]).all()


def test_categories_xacle(relate_dir, categories_path, monkeypatch):
    monkeypatch.delenv("HUMANCLAP_CATEGORIES", raising=False)
    with pytest.raises(RelateDataError, match="HUMANCLAP_CATEGORIES"):
        load_relate(relate_dir, categories="xacle", download=False)
    monkeypatch.setenv("HUMANCLAP_CATEGORIES", str(categories_path))
    df = load_relate(relate_dir, categories="xacle")
    assert df.attrs["categories"] == str(categories_path)
    with pytest.raises(ValueError, match="categories must be"):
        load_relate(relate_dir, categories=1.5)


def test_verify_real_files(relate_dir):
    df = load_relate(relate_dir, categories=False, verify=True)
    assert len(df) == 17_760


# ------------------------------------------------------------------------ small worlds
def test_small_world_rel_and_isos(tmp_path):
    root = _small_world(tmp_path)
    rel = load_relate(root, categories=False)
    assert rel.attrs["screening"]["anchors_removed"] == 1
    assert rel.attrs["screening"]["screened_listener_rows_removed"] == 1
    assert rel.attrs["screening"]["listeners_removed"] == 1  # "0003"
    pairs = pair_table(rel)
    dog = pairs.set_index(["wavname", "text"]).loc[("/audiocaps/train/11.wav", "A dog barks")]
    assert (dog["n_ratings"], dog["mean_score"], dog["target"]) == (2, 9.0, 0.9)
    assert dog["sd_score"] == pytest.approx(np.std([8, 10], ddof=1))

    full = load_relate(root, aspect="IS", screened=False, categories=False)
    assert full["split"].tolist() == ["train", "train", "test", "unassigned", "excluded"]
    assert full.attrs["split_rule"] == {
        "anchor_rows": 1,
        "rows_split_from_pair": 2,
        "rows_split_from_audiocap_id": 1,
        "rows_unassigned": 1,
        "rows_pair_and_audiocap_id_disagree": 0,
    }
    screened = load_relate(root, aspect="OS", categories=False)
    assert len(screened) == 3
    assert screened.attrs["screening"]["unassigned_rows_removed"] == 1
    assert screened.attrs["screening"]["anchors_removed"] == 1


def test_root_categories_file_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("HUMANCLAP_CATEGORIES", raising=False)
    root = _small_world(tmp_path)
    _write_csv(
        root / "audiocaps_categories.csv",
        CAT_HEADER,
        [[11, "A dog barks", "/m/0jbk,/m/0dgw9r"], [22, "Rain falls", "/m/059j3w"]],
    )
    df = load_relate(root)
    assert df.attrs["categories"] == str(root / "audiocaps_categories.csv")
    assert df.set_index("audiocap_id")["categories"].to_dict() == {
        11: "Animal|Human sounds",
        22: "Natural sounds",
    }
    assert set(df["category"]) == {"Animal", "Natural sounds"}
    # IS has clip 33, absent from the table: "" under "auto", an error when required
    auto = load_relate(root, aspect="IS", screened=False)
    assert auto.attrs["categories_missing_rows"] == 1
    assert auto.loc[auto["audiocap_id"] == 33, "categories"].tolist() == [""]
    with pytest.raises(RelateDataError, match="no categories for 1 audiocap_id"):
        load_relate(root, aspect="IS", screened=False, categories=True)


# ---------------------------------------------------------------------------- bad inputs
def test_missing_column_names_missing_and_found(tmp_path):
    header = [("Score" if c == "score" else c) for c in REL_HEADER]
    path = _rel_with(tmp_path, [_rel_row("/audiocaps/train/1.wav", "x")], header=header)
    with pytest.raises(RelateDataError) as err:
        load_relate(tmp_path, categories=False)
    _assert_names(str(err.value), path, "missing column", "['score']", "'Score'", "found columns")


def test_isos_requires_its_columns(tmp_path):
    _small_world(tmp_path)
    header = [c for c in ISOS_HEADER if c != "anchor label"]
    _write_csv(tmp_path / "scores" / "IS.csv", header, [["/audiocaps/train/1.wav", "x", 1, "1"]])
    with pytest.raises(RelateDataError) as err:
        load_relate(tmp_path, aspect="IS", categories=False)
    _assert_names(str(err.value), tmp_path / "scores" / "IS.csv", "['anchor label']")


@pytest.mark.parametrize(
    ("wavname", "expected"),
    [
        ("/audiogen/train/5.wav", "'audiogen'"),
        ("/tango/valid/5.wav", "'valid'"),
        ("tango/train/5.wav", "not of the form"),
        ("/tango/train/abc.wav", "not of the form"),
    ],
)
def test_bad_wavname(tmp_path, wavname, expected):
    rows = [_rel_row("/audiocaps/train/1.wav", "x"), _rel_row("/audiocaps/train/1.wav", "x")]
    rows.append([wavname, "x", 5, "0001", "natural", False, "train", "train"])
    path = _rel_with(tmp_path, rows)
    with pytest.raises(RelateDataError) as err:
        load_relate(tmp_path, categories=False)
    _assert_names(str(err.value), path, "data row 3", "CSV line 4", "'wavname'", expected)


@pytest.mark.parametrize(
    ("score", "problem"),
    [
        ("11", "outside 0..10"),
        ("-1", "outside 0..10"),
        ("7.5", "not an integer"),
        ("", "missing score"),
        ("NaN", "not an integer"),
        ("ten", "not an integer"),
    ],
)
def test_bad_score(tmp_path, score, problem):
    rows = [_rel_row("/audiocaps/train/1.wav", "x"), _rel_row("/tango/train/1.wav", "x", score)]
    path = _rel_with(tmp_path, rows)
    with pytest.raises(RelateDataError) as err:
        load_relate(tmp_path, categories=False)
    _assert_names(str(err.value), path, "data row 2", "'score'", problem)


@pytest.mark.parametrize(
    ("column", "value"),
    [("anchor label", "maybe"), ("in RELATE dataset", "dev"), ("listener_id", ""), ("text", "")],
)
def test_bad_other_values(tmp_path, column, value):
    row = _rel_row("/audiocaps/train/1.wav", "x")
    row[REL_HEADER.index(column)] = value
    path = _rel_with(tmp_path, [row])
    with pytest.raises(RelateDataError) as err:
        load_relate(tmp_path, categories=False)
    _assert_names(str(err.value), path, "data row 1", repr(column))


def test_error_counts_rows_with_same_problem(tmp_path):
    rows = [_rel_row("/audiocaps/train/1.wav", "x", 12) for _ in range(3)]
    _rel_with(tmp_path, rows)
    with pytest.raises(RelateDataError, match="3 rows in all"):
        load_relate(tmp_path, categories=False)


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02PK\x03\x04 binary garbage \xff\xfe",
        b"wavname,text\n\xff\xfe\xfa not utf-8\n",
        b"",
        b'wavname,text,score\n"/a/train/1.wav","x",1,extra,fields\n',
    ],
    ids=["binary", "not-utf8", "empty", "ragged"],
)
def test_unreadable_file_names_the_file(tmp_path, content):
    path = tmp_path / "scores" / "REL.csv"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(RelateDataError) as err:
        load_relate(tmp_path, categories=False)
    assert str(path) in str(err.value)


def test_directory_instead_of_file(tmp_path):
    (tmp_path / "scores" / "REL.csv").mkdir(parents=True)
    with pytest.raises(RelateDataError) as err:
        load_relate(tmp_path, categories=False)
    _assert_names(str(err.value), tmp_path / "scores" / "REL.csv")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_permission_denied(tmp_path):
    path = _rel_with(tmp_path, [_rel_row("/audiocaps/train/1.wav", "x")])
    path.chmod(0)
    try:
        with pytest.raises(RelateDataError) as err:
            load_relate(tmp_path, categories=False)
        _assert_names(str(err.value), path, "cannot read")
    finally:
        path.chmod(0o644)


def test_given_root_missing_files_lists_them(tmp_path):
    with pytest.raises(RelateDataError) as err:
        resolve_relate_root(tmp_path)
    _assert_names(str(err.value), tmp_path / "scores" / "REL.csv", "raw.githubusercontent.com")
    _rel_with(tmp_path, [_rel_row("/audiocaps/train/1.wav", "x")])
    assert resolve_relate_root(tmp_path) == tmp_path
    with pytest.raises(RelateDataError) as err:
        load_relate(tmp_path, aspect="OS")
    message = str(err.value)
    _assert_names(message, tmp_path / "scores" / "OS.csv")
    assert "REL.csv" not in message.split("Put them")[0]


def test_env_root_missing_files(tmp_path, monkeypatch):
    monkeypatch.setenv("HUMANCLAP_RELATE_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(RelateDataError) as err:
        resolve_relate_root()
    _assert_names(str(err.value), "HUMANCLAP_RELATE_DIR", tmp_path / "nowhere" / "scores")


@pytest.mark.parametrize("allow_download", [True, False])
def test_offline_without_data_fails_fast(monkeypatch, allow_download):
    monkeypatch.delenv("HUMANCLAP_RELATE_DIR", raising=False)
    start = time.monotonic()
    with pytest.raises(RelateDataError) as err:
        load_relate(download=allow_download)
    assert time.monotonic() - start < 5
    message = str(err.value)
    _assert_names(
        message, "HUMANCLAP_RELATE_DIR", relate_module.relate_cache_dir(), "scores/REL.csv"
    )


def test_verify_checks_checksums(tmp_path, monkeypatch):
    _small_world(tmp_path)
    assert len(load_relate(tmp_path, categories=False)) == 5  # verify="auto": user folder
    with pytest.raises(RelateDataError) as err:
        load_relate(tmp_path, categories=False, verify=True)
    _assert_names(str(err.value), tmp_path / "scores" / "REL.csv", "sha256", "verify=False")
    # files in the cache are verified by default
    monkeypatch.delenv("HUMANCLAP_RELATE_DIR", raising=False)
    cache = relate_module.relate_cache_dir()
    _small_world(cache)
    with pytest.raises(RelateDataError, match="sha256"):
        load_relate(categories=False)
    assert len(load_relate(categories=False, verify=False)) == 5


def test_bad_arguments(tmp_path):
    _small_world(tmp_path)
    with pytest.raises(ValueError, match="aspect"):
        load_relate(tmp_path, aspect="rel")
    with pytest.raises(ValueError, match="categories"):
        load_relate(tmp_path, categories=3)
    with pytest.raises(RelateDataError, match="missing column"):
        pair_table(pd.DataFrame({"wavname": ["a"]}))
    with pytest.raises(RelateDataError, match="categories"):
        explode_categories(pd.DataFrame({"wavname": ["a"]}))


# ---------------------------------------------------------------------- category table
def _cat_file(tmp_path: Path, rows: list[list[object]], header=CAT_HEADER) -> Path:
    return _write_csv(tmp_path / "cats.csv", header, rows)


def test_load_categories_small(tmp_path):
    path = _cat_file(tmp_path, [[5, "a", "/t/dd00123, /m/04rlf"], [7, "b", "/t/dd00098"]])
    table = load_categories(path)
    assert table.columns.tolist() == ["audiocap_id", "caption", "category_ids", "categories"]
    assert table["categories"].tolist() == [
        "Channel, environment and background|Music",
        "Source-ambiguous sounds",
    ]
    assert table["category_ids"].iloc[0] == "/t/dd00123, /m/04rlf"
    assert table["audiocap_id"].dtype == np.int64
    assert len(CATEGORY_NAMES) == 7


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([[5, "a", "/m/0jbk"], [6, "b", "/m/0jbk,/m/xyz"]], ["data row 2", "'/m/xyz'", "unknown"]),
        ([[5, "a", ""]], ["data row 1", "caption_label", "empty"]),
        ([[5, "a", "/m/0jbk"], [5, "b", "/m/0jbk"]], ["data row 2", "duplicate of data row 1"]),
        ([["x5", "a", "/m/0jbk"]], ["data row 1", "audiocaps_id", "not an integer"]),
    ],
)
def test_bad_category_table(tmp_path, rows, expected):
    path = _cat_file(tmp_path, rows)
    with pytest.raises(RelateDataError) as err:
        load_categories(path)
    _assert_names(str(err.value), path, *expected)


def test_category_table_missing_column(tmp_path):
    path = _cat_file(tmp_path, [[5, "a", "/m/0jbk"]], header=["audiocaps_id", "caption", "label"])
    with pytest.raises(RelateDataError) as err:
        load_categories(path)
    _assert_names(str(err.value), path, "['caption_label']", "'label'")


def test_category_table_not_found(tmp_path, monkeypatch):
    monkeypatch.delenv("HUMANCLAP_CATEGORIES", raising=False)
    assert load_categories(required=False) is None
    with pytest.raises(RelateDataError, match="HUMANCLAP_CATEGORIES"):
        load_categories()
    with pytest.raises(RelateDataError, match="argument 'path'"):
        load_categories(tmp_path / "none.csv", required=False)
    monkeypatch.setenv("HUMANCLAP_CATEGORIES", str(tmp_path / "none.csv"))
    with pytest.raises(RelateDataError, match="none.csv"):
        load_categories(required=False)
    _small_world(tmp_path)
    with pytest.raises(RelateDataError, match="none.csv"):
        load_relate(tmp_path, categories="xacle")
