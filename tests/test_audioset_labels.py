"""AudioSet's human labels of RELATE's clips: the committed table, the join from the pinned
sources (``../shared/audioset-labels``), the offline message, and the XACLE category table
against the labels' top-level categories."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import _SHARED, _real_path, load_script

from humanclap.data import (
    RelateDataError,
    audioset_labels_from_sources,
    compare_categories,
    label_categories,
    load_audioset_labels,
    load_categories,
    load_ontology,
)
from humanclap.data import audioset_labels as al

_TOOL = Path(__file__).resolve().parents[1] / "tools" / "build_audioset_labels.py"


@pytest.fixture(scope="module")
def labels_dir() -> Path:
    """``../shared/audioset-labels`` (``$HUMANCLAP_AUDIOSET_LABELS``), or skip."""
    return _real_path(
        al.ENV_AUDIOSET_LABELS, _SHARED / "audioset-labels", "AudioSet labels sources"
    )


def _tool():
    return load_script("tools/build_audioset_labels.py")


def test_committed_table_equals_the_join_of_the_sources(labels_dir, relate_dir):
    ids = _tool().relate_audiocap_ids(relate_dir / "scores" / "REL.csv")
    assert len(ids) == 1986
    joined = audioset_labels_from_sources(ids, folder=labels_dir, download=False)
    committed = load_audioset_labels()
    assert len(committed) == 1986 and committed["audiocap_id"].tolist() == ids
    pd.testing.assert_frame_equal(committed, joined, check_like=False)
    assert list(committed.columns) == list(al.LABEL_COLUMNS)
    n = committed["mids"].map(len)
    assert n.min() >= 1 and n.max() <= 8 and n.median() == 3  # the README's caveats
    assert (committed["mids"].map(len) == committed["names"].map(len)).all()
    # RELATE's text is the AudioCaps caption of its clip (screened rows)
    rel = pd.read_csv(relate_dir / "scores" / "REL.csv")
    rel = rel[rel["in RELATE dataset"] != "excluded"]
    rel_ids = rel["wavname"].str.extract(r"/(\d+)\.wav$")[0].astype(int)
    caption = rel_ids.map(committed.set_index("audiocap_id")["caption"])
    assert (caption == rel["text"]).mean() > 0.999


def test_tool_check_and_rebuild(labels_dir, relate_dir, tmp_path, capsys):
    tool = _tool()
    args = ["--sources", str(labels_dir), "--relate", str(relate_dir)]
    assert tool.main([*args, "--check"]) == 0
    out = tmp_path / "labels.csv"
    assert tool.main([*args, "--out", str(out)]) == 0
    assert out.read_text() == al.AUDIOSET_LABELS_PATH.read_text()
    assert out.read_text().startswith("# AudioSet's human labels")
    assert "CC BY 4.0" in out.read_text().split("audiocap_id,")[0]
    edited = out.read_text().replace("Gun shots then", "Gunshots then", 1)
    out.write_text(edited)
    assert tool.main([*args, "--out", str(out), "--check"]) == 1
    assert "DIFFERS" in capsys.readouterr().out


def test_offline_without_sources_says_which_file_goes_where(monkeypatch, tmp_path):
    monkeypatch.delenv(al.ENV_AUDIOSET_LABELS, raising=False)
    with pytest.raises(RelateDataError) as err:  # offline (conftest), empty cache
        audioset_labels_from_sources([23])
    message = str(err.value)
    for source in al.SOURCES:
        assert source.filename in message and source.url in message
        assert source.sha256 in message and str(source.cache_path()) in message
    assert al.SUBSET_FILENAME in message and al.ENV_AUDIOSET_LABELS in message
    assert len(load_audioset_labels()) == 1986  # the committed table needs none of them
    (tmp_path / "class_labels_indices.csv").write_text("index,mid,display_name\n")
    with pytest.raises(RelateDataError, match=rf"in the folder {tmp_path}") as err:
        audioset_labels_from_sources([23], folder=tmp_path)
    assert "class_labels_indices.csv:" not in str(err.value)  # that one was found
    with pytest.raises(RelateDataError, match="is not a folder"):
        audioset_labels_from_sources([23], folder=tmp_path / "nope")


def test_join_errors_name_the_id(labels_dir):
    with pytest.raises(RelateDataError, match=r"not in AudioCaps v1, e\.g\. \[999999999\]"):
        audioset_labels_from_sources([23, 999999999], folder=labels_dir, download=False)
    one = audioset_labels_from_sources([23, 92, 23], folder=labels_dir, download=False)
    assert one["audiocap_id"].tolist() == [23, 92]
    assert one["names"].iloc[0] == ("Gunshot, gunfire", "Machine gun")


def test_bad_tables_name_file_row_and_column(tmp_path):
    good = load_audioset_labels().head(3)
    path = al.write_audioset_labels(good, tmp_path / "t.csv")
    pd.testing.assert_frame_equal(load_audioset_labels(path), good)
    text = path.read_text()
    header = text.count("\n# ") + 1
    (tmp_path / "dup.csv").write_text(text + text.splitlines()[-1] + "\n")
    with pytest.raises(RelateDataError, match=r"dup\.csv: data row 4 \(line .*'audiocap_id'"):
        load_audioset_labels(tmp_path / "dup.csv")
    (tmp_path / "mid.csv").write_text(text.replace("/m/032s66", "m032s66", 1))
    with pytest.raises(RelateDataError, match=r"mid\.csv: data row 1 .*not an AudioSet class id"):
        load_audioset_labels(tmp_path / "mid.csv")
    (tmp_path / "names.csv").write_text(text.replace("Gunshot, gunfire|Machine gun", "Gun", 1))
    with pytest.raises(RelateDataError, match="as many names as mids"):
        load_audioset_labels(tmp_path / "names.csv")
    lines = text.splitlines()
    (tmp_path / "col.csv").write_text("\n".join([*lines[: header - 1], "audiocap_id,mids"]))
    with pytest.raises(RelateDataError, match="missing column"):
        load_audioset_labels(tmp_path / "col.csv")
    with pytest.raises(RelateDataError, match="not found"):
        load_audioset_labels(tmp_path / "none.csv")


def test_xacle_table_is_a_strict_subset_where_it_departs(categories_path, ontology_path):
    """The shared README's counts: 1,612 of 1,986 agree, 374 strict subsets, none else."""
    labels = load_audioset_labels()
    ontology = load_ontology(ontology_path)
    cats = label_categories(labels, ontology)
    assert cats["categories"].str.len().min() > 0 and len(cats) == 1986
    result = compare_categories(load_categories(categories_path), labels, ontology)
    counts = result.relations.set_index("relation")["n_clips"].to_dict()
    assert counts == {"agree": 1612, "strict subset": 374, "strict superset": 0, "other": 0}
    human = result.by_category.set_index("category").loc["Human sounds"]
    assert human["only_xacle"] == 0 and human["only_audioset"] > 100  # Speech the table lacks
    assert (result.by_category["only_xacle"] == 0).all()
    assert len(result.per_clip) == 1986
    with pytest.raises(RelateDataError, match="missing from the category table"):
        compare_categories(load_categories(categories_path).iloc[5:], labels, ontology)
