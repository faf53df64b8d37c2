"""The AudioSet ontology (loader, hierarchy), the caption matcher and the event tables.

Offline and fast: a small hand-made ontology (with the seven real root ids) for the hierarchy,
the matcher and the tables; the real ``ontology.json`` through the ``ontology_path`` fixture
(skipped when absent); downloads against the loopback server of ``tests/test_download.py``.
"""

from __future__ import annotations

import dataclasses
import json
import time

import pandas as pd
import pytest
from test_download import _closed_port_url, _sha, online, served  # noqa: F401

from humanclap.data import (
    NO_EVENT,
    Ontology,
    OntologyError,
    RelateDataError,
    caption_complexity,
    caption_events,
    explode_events,
    load_ontology,
    match_captions,
    unmatched_words,
)
from humanclap.data import ontology as ontology_module
from humanclap.data.categories import CATEGORY_IDS
from humanclap.data.matcher import stem

HUMAN, ANIMAL, MUSIC, NATURAL, THINGS, AMBIGUOUS, CHANNEL = CATEGORY_IDS


def _cls(id_, name, children=(), restrictions=()):
    return {
        "id": id_,
        "name": name,
        "child_ids": list(children),
        "restrictions": list(restrictions),
    }


#: Seven real roots; Howl below Dog and "Canidae, dogs, wolves"; Honk below Goose; Drone
#: blacklisted; the human-sounds root abstract; "Run" for the ambiguous-word rule.
RECORDS = [
    _cls(HUMAN, "Human sounds", ["speech", "run"], ["abstract"]),
    _cls("speech", "Speech", ["male", "female"]),
    _cls("male", "Male speech, man speaking"),
    _cls("female", "Female speech, woman speaking"),
    _cls("run", "Run"),
    _cls(ANIMAL, "Animal", ["dog", "canidae", "cat", "goose"]),
    _cls("dog", "Dog", ["bark", "howl"]),
    _cls("bark", "Bark"),
    _cls("howl", "Howl"),
    _cls("canidae", "Canidae, dogs, wolves", ["howl"]),
    _cls("cat", "Cat", ["meow"]),
    _cls("meow", "Meow"),
    _cls("goose", "Goose", ["honk"]),
    _cls("honk", "Honk"),
    _cls(MUSIC, "Music"),
    _cls(NATURAL, "Natural sounds", ["wind"], ["blacklist"]),
    _cls("wind", "Wind", ["howl_wind"]),
    _cls("howl_wind", "Howl (wind)"),
    _cls(THINGS, "Sounds of things", ["vehicle", "drone"], ["blacklist"]),
    _cls("vehicle", "Vehicle", ["car"]),
    _cls("car", "Car", ["horn"]),
    _cls("horn", "Vehicle horn, car horn, honking"),
    _cls("drone", "Drone", [], ["blacklist"]),
    _cls(AMBIGUOUS, "Source-ambiguous sounds", [], ["abstract"]),
    _cls(CHANNEL, "Channel, environment and background", [], ["abstract"]),
]


@pytest.fixture(scope="module")
def small() -> Ontology:
    return Ontology(RECORDS, source="small")


def _write(path, records) -> str:
    text = json.dumps(records)
    path.write_text(text)
    return text


# ------------------------------------------------------------------------------ the file
def test_real_file(ontology_path):
    onto = load_ontology(ontology_path)
    assert len(onto) == 632 and set(onto.roots) == set(CATEGORY_IDS)
    assert onto.sha256 == ontology_module.ONTOLOGY_SHA256
    bark, dog = onto.find("Bark")[0], onto.find("Dog")[0]
    assert onto.depth(bark) == 3 and dog in onto.ancestors(bark)
    assert onto.distance(bark, dog) == 1 and onto.distance(bark, onto.find("Meow")[0]) == 4
    hiss = onto.find("hiss")[0]
    assert onto.top_level(hiss) == {ANIMAL, NATURAL, AMBIGUOUS}
    assert onto.rollup(onto.find("man speaking")[0], 2) == {onto.find("Speech")[0]}


def test_environment_variable(ontology_path, monkeypatch, tmp_path):
    monkeypatch.setenv("HUMANCLAP_ONTOLOGY", str(ontology_path))
    assert load_ontology().source == str(ontology_path)
    monkeypatch.setenv("HUMANCLAP_ONTOLOGY", str(tmp_path / "nope.json"))
    with pytest.raises(OntologyError, match=r"nope\.json.*HUMANCLAP_ONTOLOGY"):
        load_ontology()


def test_download_into_cache(served, online, monkeypatch):  # noqa: F811
    folder, server = served
    monkeypatch.delenv("HUMANCLAP_ONTOLOGY", raising=False)  # set by the Makefile from ../shared
    text = _write(folder / "ontology.json", RECORDS)
    monkeypatch.setattr(
        ontology_module,
        "ONTOLOGY",
        dataclasses.replace(ontology_module.ONTOLOGY, sha256=_sha(text.encode())),
    )
    monkeypatch.setenv("HUMANCLAP_ONTOLOGY_URL", f"{server.url}/ontology.json")
    onto = load_ontology()
    assert onto.source == str(ontology_module.ontology_cache_path()) and len(onto) == len(RECORDS)
    server.stop()  # from now on the cache must be enough
    assert len(load_ontology(download=False)) == len(RECORDS)


def test_download_checksum_mismatch(served, online, monkeypatch):  # noqa: F811
    folder, server = served
    monkeypatch.delenv("HUMANCLAP_ONTOLOGY", raising=False)  # set by the Makefile from ../shared
    _write(folder / "ontology.json", RECORDS)
    monkeypatch.setenv("HUMANCLAP_ONTOLOGY_URL", f"{server.url}/ontology.json")
    with pytest.raises(OntologyError, match="checksum mismatch"):
        load_ontology()
    assert not ontology_module.ontology_cache_path().exists()
    monkeypatch.setenv("HUMANCLAP_ONTOLOGY_URL", _closed_port_url())
    with pytest.raises(OntologyError, match="not found"):
        load_ontology()


def test_offline_with_nothing_is_fast_and_clear(monkeypatch):
    monkeypatch.delenv("HUMANCLAP_ONTOLOGY", raising=False)
    began = time.monotonic()
    with pytest.raises(OntologyError) as err:
        load_ontology()
    assert time.monotonic() - began < 2
    message = str(err.value)
    assert ontology_module.ONTOLOGY_URL in message and "HUMANCLAP_ONTOLOGY" in message
    assert str(ontology_module.ontology_cache_path()) in message
    with pytest.raises(OntologyError, match="not found"):
        load_ontology(download=False)


@pytest.mark.parametrize(
    "content, problem",
    [
        ("[{", r"not valid JSON: .* line 1"),
        ('{"id": "x"}', "expected a non-empty JSON list"),
        ("[]", "expected a non-empty JSON list"),
        (json.dumps([{"id": "a"}]), r"entry 0 \(id 'a'\): 'name'"),
        (json.dumps([_cls("a", "A", ["b"])]), "unknown child id 'b'"),
        (json.dumps([_cls("a", "A"), _cls("a", "B")]), "duplicate id 'a'"),
        (json.dumps([_cls("r", "R"), _cls("a", "A", ["b"]), _cls("b", "B", ["a"])]), "cycle"),
        (json.dumps([_cls("a", "A", [], ["odd"])]), "unknown restriction"),
    ],
)
def test_bad_file_names_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "ontology.json"
    path.write_text(content)
    with pytest.raises(OntologyError, match=problem) as err:
        load_ontology(path)
    assert str(path) in str(err.value)


# ------------------------------------------------------------------------------ hierarchy
def test_hierarchy_hand_made():
    #   R1 -> A, B;  A -> C;  B -> C, D;  C -> E;  R2 -> F;  F -> E  (C and E: two parents)
    onto = Ontology(
        [
            _cls("R1", "R one", ["A", "B"]),
            _cls("A", "A", ["C"]),
            _cls("B", "B", ["C", "D"]),
            _cls("C", "C", ["E"]),
            _cls("D", "D"),
            _cls("E", "E"),
            _cls("R2", "R two", ["F"]),
            _cls("F", "F", ["E"]),
        ]
    )
    assert onto.roots == ("R1", "R2")
    assert onto.parents("C") == ("A", "B") and onto.children("B") == ("C", "D")
    assert [onto.depth(c) for c in "ABCDEF"] == [1, 1, 2, 2, 2, 1]  # E: via F, the shorter
    assert onto.ancestors("E") == {"C", "A", "B", "R1", "F", "R2"}
    assert onto.ancestors("R1") == set()
    assert onto.rollup("E", 0) == {"R1", "R2"}
    assert onto.rollup("E", 1) == {"A", "B", "F"}
    assert onto.rollup("C", 1) == {"A", "B"} and onto.rollup("A", 2) == {"A"}
    assert onto.distance("E", "E") == 0 and onto.distance("C", "E") == 1
    assert onto.distance("A", "B") == 2 and onto.distance("D", "C") == 2
    assert onto.distance("E", "D") == 3 and onto.distance("E", "A") == 2
    assert onto.distance("A", "F") == 4  # no common ancestor: via a virtual root
    assert onto.distance("C", "F") == 5  # E is below both, not above: a virtual root again
    with pytest.raises(KeyError, match="unknown AudioSet class id"):
        onto.depth("Z")
    with pytest.raises(ValueError):
        onto.rollup("E", -1)


# ------------------------------------------------------------------------------ matcher
def _classes(caption, onto, **kwargs) -> list[str]:
    return match_captions([caption], onto, **kwargs)["class_id"].tolist()


def test_stem():
    assert {stem(w) for w in ("barks", "barking", "barked", "bark", "Bark")} == {"bark"}
    assert {stem(w) for w in ("speaks", "speaking", "speak", "speech", "talks")} == {"speech"}
    assert stem("dogs") == stem("dog") and stem("men") == stem("man")
    assert stem("cries") == stem("cried") == stem("cry") and stem("geese") == stem("goose")
    assert stem("running") == "run" and stem("rumbling") == stem("rumble")
    assert stem("buzzer") != stem("buzz") and stem("rate") != stem("rat")


@pytest.mark.parametrize(
    "caption, expected",
    [
        ("Two dogs", ["dog"]),  # plural, and Dog not "Canidae, dogs, wolves"
        ("A dog barking", ["dog", "bark"]),  # -ing
        ("It barked twice", ["bark"]),  # -ed
        ("Someone speaks", ["speech"]),
        ("A man speaks while a woman is talking", ["male", "female"]),  # synonyms, fillers
        ("A car horn", ["horn"]),  # longest first: not also Car
        ("A car honks", ["car", "horn"]),  # context: the car's horn, not a goose
        ("Geese honk", ["goose", "honk"]),
        ("A dog howls", ["dog", "howl"]),
        ("Wind howling", ["wind", "howl_wind"]),
        ("Howling", ["howl"]),  # no context: the name without a qualifier
        ("A category of scattered cats", ["cat"]),  # not inside other words
        ("DOG BARKS!", ["dog", "bark"]),  # case, punctuation
        ("A man, speaking", ["speech"]),  # a comma ends the clause
        ("An engine running", []),  # "run" is too ambiguous
        ("A drone hovers", []),  # blacklisted
        ("Human sounds", [HUMAN]),  # abstract classes are matched
    ],
)
def test_matcher_cases(small, caption, expected):
    assert _classes(caption, small) == expected


def test_matcher_options_and_spans(small):
    assert _classes("A drone hovers", small, include_blacklisted=True) == ["drone"]
    assert _classes("Human sounds", small, include_abstract=False) == []
    table = match_captions(["A man is speaking, then dogs bark."] * 2, small)
    assert table.columns.tolist() == ["caption", "span", "start", "end", "class_id", "class_name"]
    assert table["span"].tolist() == ["man is speaking", "dogs", "bark"]
    for caption, span, start, end in table[["caption", "span", "start", "end"]].itertuples(
        index=False
    ):
        assert caption[start:end] == span
    assert table.attrs["captions"] == ["A man is speaking, then dogs bark."]


def test_matcher_on_real_ontology(ontology_path):
    onto = load_ontology(ontology_path)
    names = match_captions(["A man speaks while a dog barks in the distance"], onto)["class_name"]
    assert names.tolist() == ["Male speech, man speaking", "Dog", "Bark"]
    names = match_captions(["Birds chirping; a rooster crows"], onto)["class_name"]
    assert names.tolist() == [
        "Bird",
        "Chirp, tweet",
        "Chicken, rooster",
        "Crowing, cock-a-doodle-doo",
    ]


# ------------------------------------------------------------------------------ tables
def test_caption_events_rollup_and_context(small):
    events = caption_events(["A dog barks", "A dog howls", "Howling", "silence"], small, depth=1)
    got = {
        (c, i): s for c, i, s in events[["caption", "class_id", "spans"]].itertuples(index=False)
    }
    assert got == {
        ("A dog barks", "dog"): "dog|barks",
        ("A dog howls", "dog"): "dog|howls",  # Howl's other parent is not named: left out
        ("Howling", "canidae"): "Howling",  # no context: both parents
        ("Howling", "dog"): "Howling",
    }
    assert events.attrs["captions"] == ["A dog barks", "A dog howls", "Howling", "silence"]
    without = caption_events(["A dog howls"], small, depth=1, use_context=False)
    assert set(without["class_id"]) == {"dog", "canidae"}
    assert caption_events(["A dog barks"], small)["class_id"].tolist() == ["dog", "bark"]


def test_explode_events_keeps_every_pair(small):
    pairs = pd.DataFrame(
        {"wavname": ["1.wav", "2.wav", "3.wav"], "text": ["Dogs bark", "A cat", "Quiet"]}
    )
    pairs.attrs["origin"] = "test"
    events = caption_events(pairs["text"], small)
    rows = explode_events(pairs, events)
    assert rows["wavname"].tolist() == ["1.wav", "1.wav", "2.wav", "3.wav"]
    assert rows["event"].tolist() == ["Dog", "Bark", "Cat", NO_EVENT]
    assert rows["event_id"].tolist() == ["dog", "bark", "cat", ""]
    assert rows["n_events"].tolist() == [2, 2, 1, 0]
    assert rows.attrs == {"origin": "test", "pairs_without_event": 1}
    with pytest.raises(RelateDataError, match="not given to caption_events"):
        explode_events(pairs, caption_events(["Dogs bark"], small))
    with pytest.raises(RelateDataError, match="'caption'"):
        explode_events(pairs, events, caption_column="caption")


def test_caption_complexity(small):
    table = caption_complexity(["A dog barks and a cat meows", "A dog", "Quiet"], small)
    assert table["n_events"].tolist() == [4, 1, 0]
    # Dog-Bark 1, Dog-Cat 2, Dog-Meow 3, Bark-Cat 3, Bark-Meow 4, Cat-Meow 1
    assert table["mean_distance"].iloc[0] == pytest.approx(14 / 6)
    assert table["max_distance"].iloc[0] == 4
    assert table[["mean_distance", "max_distance"]].iloc[1:].isna().all().all()


def test_unmatched_words(small):
    pairs = pd.DataFrame({"text": ["A dog barks", "A man speaks", "Wind blows", "Silence"]})
    words = unmatched_words(pairs["text"], small)
    assert words["word"].tolist() == ["silence"] and words.attrs["n_unmatched"] == 1
