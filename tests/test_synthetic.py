"""Tests of the embedded synthetic world (humanclap.data.synthetic)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy import signal, stats

from humanclap.data import SIMULATED_SOURCES
from humanclap.data import synthetic as S
from humanclap.data.synthetic.events import CATEGORIES, CONFUSABLE, EVENT_CLASSES
from humanclap.data.synthetic.listeners import draw_scores, listener_params
from humanclap.data.synthetic.phrasing import phrase_event
from humanclap.data.synthetic.render import synth_event

SMALL = 30  # captions in the small test world
READ = {"dtype": str, "keep_default_na": False}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return S.generate(tmp_path_factory.mktemp("world") / "w", n_captions=SMALL, seed=3)


@pytest.fixture(scope="module")
def big_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ratings and truth only (no audio): enough pairs for rate and correlation checks."""
    root = tmp_path_factory.mktemp("big") / "w"
    return S.generate(root, n_captions=600, seed=11, write_audio=False)


def _scores(root: Path, aspect: str) -> pd.DataFrame:
    """A scores file with every column as written (strings), except ``score`` (int)."""
    df = pd.read_csv(root / "scores" / f"{aspect}.csv", **READ)
    return df.assign(score=df["score"].astype(int))


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------------------------ determinism
def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a = S.generate(tmp_path / "a", n_captions=14, seed=5, clip_seconds=2.0)
    b = S.generate(tmp_path / "b", n_captions=14, seed=5, clip_seconds=2.0)
    da, db = _digests(a), _digests(b)
    assert len(da) > 40  # csv files and 42 wav files
    assert da == db
    c = S.generate(tmp_path / "c", n_captions=14, seed=6, clip_seconds=2.0, write_audio=False)
    assert _digests(c)["scores/REL.csv"] != da["scores/REL.csv"]


def test_world_json_records_parameters_and_fingerprint(world: Path) -> None:
    meta = json.loads((world / "world.json").read_text())
    assert meta["simulation"] is True
    assert meta["version"] == S.GENERATOR_VERSION
    assert meta["seed"] == 3
    assert meta["params"]["n_captions"] == SMALL
    assert meta["key"] == S.world_key(3, n_captions=SMALL)
    digests = _digests(world)
    digests.pop("world.json")
    expected = hashlib.sha256("".join(f"{k}\t{v}\n" for k, v in digests.items()).encode())
    assert meta["fingerprint"] == expected.hexdigest()
    assert meta["counts"]["pairs"] == 3 * SMALL
    assert meta["counts"]["wav_files"] == 3 * SMALL


# ------------------------------------------------------------------------------ schema
def _header(path: Path) -> list[str]:
    return path.read_text().splitlines()[0].split(",")


def test_headers_match_constants(world: Path) -> None:
    assert _header(world / "scores" / "REL.csv") == list(S.REL_COLUMNS)
    assert _header(world / "scores" / "IS.csv") == list(S.ISOS_COLUMNS)
    assert _header(world / "scores" / "OS.csv") == list(S.ISOS_COLUMNS)
    for name in ("REL.csv", "IS_and_OS.csv"):
        assert _header(world / "listener_attributes" / name) == list(S.ATTRIBUTE_COLUMNS)
    assert _header(world / "truth.csv") == list(S.TRUTH_COLUMNS)
    assert _header(world / "listeners.csv") == list(S.LISTENER_COLUMNS)


def test_headers_match_real_relate(world: Path, relate_dir: Path, categories_path: Path) -> None:
    for rel in ("scores/REL.csv", "scores/IS.csv", "scores/OS.csv"):
        assert _header(world / rel) == _header(relate_dir / rel), rel
    for rel in ("listener_attributes/REL.csv", "listener_attributes/IS_and_OS.csv"):
        assert _header(world / rel) == _header(relate_dir / rel), rel
    assert _header(world / "audiocaps_categories.csv") == _header(categories_path)


def test_value_conventions(world: Path) -> None:
    rel = _scores(world, "REL")
    wav = rel["wavname"].str.extract(r"^/([a-z0-9]+)/(train|test)/(\d+)\.wav$")
    assert wav.notna().all().all(), rel["wavname"][wav.isna().any(axis=1)].head()
    source, folder = wav[0], wav[1]
    assert set(source) == set(S.SOURCES)
    assert (rel["audio type"] == source.map(S.AUDIO_TYPE)).all()
    assert set(rel["anchor label"]) == {"True", "False"}
    assert set(rel["in RELATE dataset"]) == {"train", "validation", "test", "excluded"}
    anchors = rel["anchor label"] == "True"
    assert (rel.loc[anchors, "in RELATE dataset"] == "excluded").all()
    assert (rel.loc[anchors, "in AudioCaps"] == "").all()
    assert (rel.loc[anchors, "audio type"] == "natural").all()
    assert (rel.loc[~anchors, "in AudioCaps"] == folder[~anchors]).all()
    assert rel["score"].astype(int).between(0, 10).all()
    assert rel["listener_id"].str.fullmatch(r"\d{4}").all()
    assert rel["listener_id"].min() == "0000"
    # like RELATE: 6 captions x 3 audios + 3 anchors per listener
    per_listener = rel.groupby("listener_id")["anchor label"].agg(
        ["size", lambda s: (s == "True").sum()]
    )
    assert (per_listener["size"] == 21).all() and (per_listener.iloc[:, 1] == 3).all()
    # each caption with the natural clip and one of the two RELATE system combinations
    combos = (
        rel[~anchors]
        .groupby("text")["wavname"]
        .apply(lambda w: tuple(sorted({x.split("/")[1] for x in w})))
    )
    assert set(combos) <= {("audiocaps", "audioldm", "tango2"), ("audiocaps", "audioldm2", "tango")}
    iso = _scores(world, "IS")
    assert iso["listener_id"].astype(int).min() == 10000
    osc = _scores(world, "OS")
    assert (
        (iso[["wavname", "text", "listener_id"]] == osc[["wavname", "text", "listener_id"]])
        .all()
        .all()
    )
    attrs = pd.read_csv(world / "listener_attributes" / "REL.csv", **READ)
    assert set(attrs["listener_id"]) == set(rel["listener_id"])
    for q in (1, 2, 6, 7, 8, 9, 10, 11, 12):
        assert attrs[f"question{q}"].astype(int).min() >= 1
    assert attrs["question3"].str.fullmatch(r"[A-Z][A-Za-z ]+").all()


def test_category_table(world: Path) -> None:
    cat = pd.read_csv(world / "audiocaps_categories.csv", keep_default_na=False)
    assert list(cat.columns) == list(S.CATEGORY_COLUMNS)
    labels = cat["caption_label"].str.split(",").explode()
    assert set(labels) <= set(CATEGORIES)
    truth = S.load_truth(world)
    real = truth[~truth["anchor"]]
    assert set(cat["audiocaps_id"]) == set(real["audiocap_id"])
    merged = real.merge(cat, left_on="audiocap_id", right_on="audiocaps_id")
    assert (merged["caption"] == merged["text"]).all()
    assert (merged["caption_label_x"] == merged["caption_label_y"]).all()


# ------------------------------------------------------------------------------ audio
def test_wav_format(world: Path) -> None:
    rel = _scores(world, "REL")
    wavs = sorted(world.glob("*/*/*.wav"))
    assert {"/" + p.relative_to(world).as_posix() for p in wavs} == set(rel["wavname"])
    for p in wavs[:: max(len(wavs) // 15, 1)]:
        info = sf.info(p)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.frames == 4 * 16000
    x = S.load_audio(world, rel["wavname"].iloc[0])
    assert x.dtype == np.float32 and x.shape == (64000,)
    assert 0.05 < np.abs(x).max() <= 1.0
    with pytest.raises(FileNotFoundError, match="no such audio file"):
        S.load_audio(world, "/audiocaps/train/999999999.wav")


def _features(x: np.ndarray) -> np.ndarray:
    _, _, z = signal.stft(x, 16000, nperseg=512)
    power = np.abs(z) ** 2
    edges = np.unique(np.geomspace(1, 256, 33).astype(int))
    bands = np.log(
        np.stack([power[a:b].sum(0) for a, b in zip(edges[:-1], edges[1:], strict=True)]) + 1e-10
    )
    env = np.log(power.sum(0) + 1e-10)
    return np.concatenate([bands.mean(1), bands.std(1), [env.std(), np.abs(np.diff(env)).mean()]])


def test_event_classes_are_recognisable() -> None:
    """A nearest-centroid classifier on band energies tells fresh instances apart."""
    names = list(EVENT_CLASSES)
    assert len(names) >= 16
    assert len({c.category for c in EVENT_CLASSES.values()}) >= 5

    def draw(seed: int):
        rng = np.random.default_rng(seed)
        feats, labels = [], []
        for i, name in enumerate(names):
            for _ in range(5):
                n = int(16000 * rng.uniform(1.0, 2.0))
                x = synth_event(
                    name, rng, n, count=int(rng.integers(1, 4)), pitch=rng.uniform(0.85, 1.2)
                )
                assert (
                    x.shape == (n,)
                    and np.isfinite(x).all()
                    and np.abs(x).max() == pytest.approx(1.0)
                )
                feats.append(_features(x + 1e-3 * rng.standard_normal(n)))
                labels.append(i)
        return np.array(feats), np.array(labels)

    x_train, y_train = draw(0)
    x_test, y_test = draw(1)
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-9
    centroids = np.stack([((x_train - mu) / sd)[y_train == i].mean(0) for i in range(len(names))])
    dist = ((((x_test - mu) / sd)[:, None] - centroids[None]) ** 2).sum(-1)
    assert (dist.argmin(1) == y_test).mean() >= 0.75


def test_phrasings_and_confusions() -> None:
    for name, cls in EVENT_CLASSES.items():
        assert len(cls.phrasings) >= 3, name
        assert CONFUSABLE[name], name
        assert all(name in CONFUSABLE[o] for o in CONFUSABLE[name])
    dog = EVENT_CLASSES["dog_bark"].phrasings[0]
    assert phrase_event(dog, "finite", "high-pitched", "twice") == "a high-pitched dog barks twice"
    assert phrase_event(dog, "gerund", "distant") == "a dog barking in the distance"
    engine = EVENT_CLASSES["car_engine"].phrasings[0]
    assert phrase_event(engine, "finite", "loud") == "an engine idles loudly"


def test_captions_use_order_words_counts_and_adjectives(big_world: Path) -> None:
    texts = S.load_truth(big_world)["text"].drop_duplicates()
    for word in (
        " followed by ",
        " then ",
        " while ",
        " as ",
        "twice",
        "three times",
        "in the distance",
        "loudly",
        "high-pitched",
    ):
        assert texts.str.contains(word).any(), word
    n_events = S.load_truth(big_world).drop_duplicates("text")["caption_events"].str.count(";") + 1
    assert set(n_events) == {1, 2, 3}


# ------------------------------------------------------------------------------ splits
def test_no_caption_crosses_splits(world: Path, big_world: Path) -> None:
    for root in (world, big_world):
        truth = S.load_truth(root)
        real = truth[~truth["anchor"]]
        assert (real.groupby("text")["split"].nunique() == 1).all()
        assert (real.groupby("caption_index")["split"].nunique() == 1).all()
        expect = real["split"].map({"train": "train", "validation": "test", "test": "test"})
        assert (real["in_audiocaps"] == expect).all()
        assert (real["wavname"].str.split("/").str[2] == real["in_audiocaps"]).all()
        rel = _scores(root, "REL")
        kept = rel[rel["in RELATE dataset"] != "excluded"]
        assert (kept.groupby("text")["in RELATE dataset"].nunique() == 1).all()
        split_of = real.drop_duplicates("text").set_index("text")["split"]
        assert (kept["in RELATE dataset"] == kept["text"].map(split_of)).all()
    shares = real.drop_duplicates("text")["split"].value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.53, abs=0.01)


# ------------------------------------------------------------------------------ screening
def test_screening_catches_planted_careless_listeners(world: Path, big_world: Path) -> None:
    """Constant and inattentive raters are always caught; uniformly random raters almost always.

    A random rater escapes only by chance: anchor mean < 2 (4 % of them) and, on 18 ratings, a
    non-negative correlation with the others (about half of those). See the module docs.
    """
    for root in (world, big_world):
        listeners = S.load_listeners(root)
        n_careless = n_caught = 0
        for pool, aspects in (("REL", ["REL"]), ("IS_and_OS", ["IS", "OS"])):
            lst = listeners[listeners["pool"] == pool].set_index("listener_id")
            careless = set(lst.index[lst["careless"]])
            assert careless, f"no careless listener planted in {pool}"
            screened: set[str] = set()
            for a in aspects:
                screened |= S.screen_listeners(_scores(root, a))
            assert screened == set(lst.index[lst["screened"]])
            missed = careless - screened
            assert set(lst.loc[sorted(missed), "careless_type"]) <= {"random"}, missed
            n_careless += len(careless)
            n_caught += len(careless & screened)
            if root == big_world:  # too few co-raters in the small world for a stable rate
                false_pos = len(screened - careless) / (~lst["careless"]).sum()
                assert false_pos <= 0.06, (pool, false_pos)
        if root == big_world:
            assert n_caught / n_careless >= 0.9
            assert set(listeners["careless_type"]) == {"", "random", "constant", "inattentive"}
        rel = _scores(root, "REL")
        out = rel["listener_id"].isin(set(listeners.loc[listeners["screened"], "listener_id"]))
        assert (rel.loc[out, "in RELATE dataset"] == "excluded").all()


def test_screen_listeners_rules() -> None:
    """Hand-made case: anchor rule, correlation rule, constant scores."""
    pairs = [(f"/audiocaps/train/{i}.wav", f"caption {i}") for i in range(6)]
    truth = [0, 2, 4, 6, 8, 10]
    rows = []

    def add(listener, scores, anchors):
        for (w, t), s in zip(pairs, scores, strict=True):
            rows.append((w, t, s, listener, False))
        for j, s in enumerate(anchors):
            rows.append((f"/audiocaps/test/{100 + j}.wav", f"caption {j}", s, listener, True))

    add("good1", truth, [0, 0, 1])
    add("good2", [t + 1 if t < 10 else t for t in truth], [0, 1, 0])
    add("anchor_hi", truth, [0, 0, 6])  # mean 2 -> excluded (RELATE rule)
    add("anchor_ok", truth, [0, 0, 5])  # mean 1.67 -> kept
    add("inverse", truth[::-1], [0, 0, 0])  # negative correlation -> excluded
    add("constant", [7] * 6, [0, 0, 0])  # no variation -> excluded
    df = pd.DataFrame(rows, columns=["wavname", "text", "score", "listener_id", "anchor label"])
    assert S.screen_listeners(df) == {"anchor_hi", "inverse", "constant"}
    assert S.screen_listeners(df, min_corr=None) == {"anchor_hi"}
    assert S.screen_listeners(df, anchor_threshold=None) == {"inverse", "constant"}
    with pytest.raises(KeyError, match="anchor label"):
        S.screen_listeners(df.drop(columns="anchor label"))


def test_screen_listeners_reproduces_relate(relate_dir: Path) -> None:
    """On the real REL file the anchor rule gives RELATE's exclusions for all but one listener."""
    rel = pd.read_csv(relate_dir / "scores" / "REL.csv", **READ)
    real = rel[rel["anchor label"] == "False"]
    excluded = real.groupby("listener_id")["in RELATE dataset"].apply(
        lambda s: (s == "excluded").all()
    )
    published = set(excluded.index[excluded])
    ours = S.screen_listeners(rel, min_corr=None)
    assert len(ours ^ published) <= 1


# ------------------------------------------------------------------------------ failure model
def _parse_failures(truth: pd.DataFrame) -> pd.DataFrame:
    real = truth[~truth["anchor"]].copy()
    fail = real["failures"].replace("none", "").str.split(";")
    real["n_events"] = real["caption_events"].str.count(";") + 1
    real["n_drop"] = fail.apply(lambda f: sum(x.startswith("drop:") for x in f))
    real["n_sub"] = fail.apply(lambda f: sum(x.startswith("sub:") for x in f))
    real["swap"] = fail.apply(lambda f: "swap" in f)
    real["extra"] = fail.apply(lambda f: any(x.startswith("extra:") for x in f))
    real["unrelated"] = fail.apply(lambda f: any(x.startswith("unrelated:") for x in f))

    def occupied(row) -> int:
        dropped = {x.split(":")[1] for x in row.failures.split(";") if x.startswith("drop:")}
        segs = {
            e.split("@")[1]
            for e in row.caption_events.split(";")
            if e.split("@")[0].split("*")[0] not in dropped
        }
        return len(segs)

    real["occupied"] = real.apply(occupied, axis=1)
    return real


def _within(k: int, n: int, p: float) -> bool:
    se = np.sqrt(max(p * (1 - p), 1e-4) / max(n, 1))
    return abs(k / max(n, 1) - p) <= 4 * se + 0.01


def test_failure_rates_match_profiles(big_world: Path) -> None:
    real = _parse_failures(S.load_truth(big_world))
    for source, prof in S.PROFILES.items():  # keyed by folder; load_truth shows "sim-" names
        d = real[real["source"] == SIMULATED_SOURCES.get(source, source)]
        assert len(d) >= 100, source
        multi = d[d["n_events"] >= 2]
        assert _within(multi["n_drop"].sum(), multi["n_events"].sum(), prof.p_drop), source
        kept_events = (d["n_events"] - d["n_drop"])[~d["unrelated"]]
        assert _within(d["n_sub"].sum(), kept_events.sum(), prof.p_substitute), source
        eligible = d[d["occupied"] >= 2]
        assert _within(eligible["swap"].sum(), len(eligible), prof.p_swap), source
        with_events = d[~d["unrelated"]]
        assert _within(with_events["extra"].sum(), len(with_events), prof.p_extra), source
        q = d["quality"]
        assert abs(q.mean() - prof.quality_mean) < 4 * q.std() / np.sqrt(len(q)) + 0.01, source
    natural = real[real["source"] == "audiocaps"]
    assert set(natural["failures"].str.split(";").explode().str.split(":").str[0]) <= {
        "none",
        "extra",
    }
    assert natural["order"].eq(1).all() and natural["inclusion"].ge(0.9).all()


def test_failed_pairs_are_less_relevant(big_world: Path) -> None:
    truth = S.load_truth(big_world)
    real = truth[~truth["anchor"]]
    faithful = real[real["failures"] == "none"]
    assert (faithful["inclusion"] == 1).all() and (faithful["order"] == 1).all()
    for kind in ("drop:", "sub:", "swap", "unrelated:"):
        failed = real[real["failures"].str.contains(kind, regex=False)]
        assert len(failed) >= 10, kind
        assert failed["relevance"].mean() < faithful["relevance"].mean() - 0.1, kind
    swapped = real[real["failures"].str.contains("swap")]
    assert (swapped["order"] < 1).all()
    anchors = truth[truth["anchor"]]
    assert (anchors["relevance"] == 0).mean() > 0.95
    # source matters: the systems' mean relevance differs as their profiles do
    by_source = real.groupby("source")["relevance"].mean()
    assert by_source["sim-tango2"] > by_source["sim-tango"] > by_source["sim-audioldm"]


def test_relevance_formula(big_world: Path) -> None:
    t = S.load_truth(big_world)
    expect = (
        t["inclusion"]
        * (1 - t["w_order"] * (1 - t["order"]))
        * (1 - t["w_quality"] * (1 - t["quality"]))
    )
    np.testing.assert_allclose(t["relevance"], expect, atol=2e-6)
    np.testing.assert_allclose(t["relevance_10"], 10 * t["relevance"], atol=2e-5)
    for label, w_o, w_q in zip(t["caption_label"], t["w_order"], t["w_quality"], strict=True):
        cats = label.split(",")
        assert w_o == max(S.ORDER_WEIGHT[c] for c in cats)
        assert w_q == max(S.QUALITY_WEIGHT[c] for c in cats)


# ------------------------------------------------------------------------------ listeners
def test_ratings_follow_latent_relevance(big_world: Path) -> None:
    rel = _scores(big_world, "REL")
    kept = rel[rel["in RELATE dataset"] != "excluded"]
    means = kept.groupby(["wavname", "text"])["score"].mean().rename("mean").reset_index()
    t = S.load_truth(big_world).merge(means, on=["wavname", "text"])
    assert stats.spearmanr(t["mean"], t["relevance"])[0] > 0.7
    assert stats.pearsonr(t["mean"], t["expected_rel"])[0] > 0.75
    for aspect, column in (("IS", "expected_is"), ("OS", "expected_os")):
        m = _scores(big_world, aspect).query("`anchor label` == 'False'")
        m = m.groupby(["wavname", "text"])["score"].mean().rename("mean").reset_index()
        merged = S.load_truth(big_world).merge(m, on=["wavname", "text"])
        assert stats.pearsonr(merged["mean"], merged[column])[0] > 0.7, aspect
    anchors = rel[rel["anchor label"] == "True"]
    genuine = S.load_listeners(big_world).query("not careless")["listener_id"]
    assert anchors[anchors["listener_id"].isin(genuine)]["score"].mean() < 1.0


def test_rating_moments_match_sampling() -> None:
    """The exact moments agree with brute-force sampling of the listener model."""
    rng = np.random.default_rng(0)
    n = 200_000
    params = listener_params(rng.random((n, 7)))
    params["careless_type"] = np.full(n, "", dtype=object)
    params["constant"] = np.zeros(n, dtype=int)
    latent = np.array([0.0, 0.3, 0.6, 0.9, 1.0])
    offset = np.array([0.1, -0.2, 0.0, 0.3, 0.0])
    mean, var = S.rating_moments(latent, offset)
    for lat, off, m, v in zip(latent, offset, mean, var, strict=True):
        y = draw_scores(np.full(n, lat), np.full(n, off), params, np.arange(n), rng)
        assert y.mean() == pytest.approx(m, abs=0.03)
        assert y.var() == pytest.approx(v, abs=0.08 + 0.02 * v)
    careless = {
        "scale": np.ones(3),
        "bias": np.zeros(3),
        "noise": np.ones(3),
        "snap": np.zeros(3),
        "careless_type": np.array(["random", "constant", "inattentive"], dtype=object),
        "constant": np.array([0, 7, 0]),
    }
    m, v = S.rating_moments([0.5], [0.0], careless, weights=[1, 1, 2])
    values = np.r_[np.arange(11.0), np.full(11, 7.0)]
    mix_mean = (np.arange(11).mean() + 7 + 2 * 8) / 4
    mix_second = ((np.arange(11) ** 2).mean() + 49 + 2 * (np.arange(6, 11) ** 2).mean()) / 4
    assert m[0] == pytest.approx(mix_mean) and v[0] == pytest.approx(mix_second - mix_mean**2)
    assert len(values) == 22


def test_true_noise_ceiling_agrees_with_anova_estimate(big_world: Path) -> None:
    """ICC(1) from the one-way ANOVA of the screened ratings estimates the true icc1."""
    truth = S.true_noise_ceiling(big_world, "REL")
    assert 0 < truth["icc1"] < truth["reliability"] < 1
    assert truth["ceiling_lcc"] == pytest.approx(np.sqrt(truth["reliability"]))
    rel = _scores(big_world, "REL")
    kept = rel[rel["in RELATE dataset"] != "excluded"]
    g = kept.groupby(["wavname", "text"])["score"]
    n, var = g.size(), g.var().fillna(0)
    msw = ((n - 1) * var).sum() / (n - 1).sum()
    msb = (n * (g.mean() - kept["score"].mean()) ** 2).sum() / (len(n) - 1)
    k0 = (n.sum() - (n**2).sum() / n.sum()) / (len(n) - 1)
    icc1 = (msb - msw) / (msb + (k0 - 1) * msw)
    assert icc1 == pytest.approx(truth["icc1"], abs=0.08)
    assert truth["observed_lcc"] == pytest.approx(truth["ceiling_lcc"], abs=0.06)
    assert truth["n_pairs"] == len(n)
    part = S.true_noise_ceiling(big_world, "OS", split="test")
    assert part["n_pairs"] < truth["n_pairs"]
    with pytest.raises(ValueError, match="aspect"):
        S.true_noise_ceiling(big_world, "XX")


# ------------------------------------------------------------------------------ cache, errors
def test_ensure_world_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUMANCLAP_CACHE", str(tmp_path / "cache"))
    path = S.ensure_world(n_captions=12, write_audio=False)
    assert path.parent == tmp_path / "cache" / "worlds"
    assert path.name == S.world_key(0, n_captions=12, write_audio=False)
    stamp = (path / "world.json").stat().st_mtime_ns
    assert S.ensure_world(n_captions=12, write_audio=False) == path
    assert (path / "world.json").stat().st_mtime_ns == stamp
    other = S.ensure_world(tmp_path / "elsewhere", seed=1, n_captions=12, write_audio=False)
    assert other.parent == tmp_path / "elsewhere" and other.name != path.name
    assert not [p for p in (tmp_path / "cache" / "worlds").iterdir() if p.name.startswith(".")]
    # defaults are part of the key: the same world whether or not they are spelled out
    assert S.world_key(0) == S.world_key(0, n_captions=400, clip_seconds=4.0)


def test_bad_parameters_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_captions"):
        S.generate(tmp_path / "a", n_captions=3)
    with pytest.raises(TypeError, match="unknown world parameter"):
        S.generate(tmp_path / "a", n_captions=20, colour="red")
    with pytest.raises(ValueError, match=re.escape("profiles['tango']['p_drop']")):
        S.generate(tmp_path / "a", n_captions=20, profiles={"tango": {"p_drop": 1.5}})
    with pytest.raises(ValueError, match="unknown source"):
        S.generate(tmp_path / "a", n_captions=20, profiles={"musicgen": {"p_drop": 0.1}})
    (tmp_path / "b").mkdir()
    with pytest.raises(FileExistsError, match="overwrite"):
        S.generate(tmp_path / "b", n_captions=20)
    assert not (tmp_path / "a").exists()


def test_profiles_override_changes_the_world(tmp_path: Path) -> None:
    root = S.generate(
        tmp_path / "w",
        n_captions=60,
        write_audio=False,
        profiles={
            s: {"p_drop": 0.0, "p_swap": 0.0, "p_substitute": 0.0, "p_count": 0.0, "p_extra": 0.0}
            for s in S.SOURCES
        },
    )
    assert (S.load_truth(root).query("not anchor")["failures"] == "none").all()


# ------------------------------------------------------------------------------ loader
def test_load_relate_reads_the_world(world: Path) -> None:
    relate = pytest.importorskip("humanclap.data.relate")
    rel_raw = _scores(world, "REL")
    for aspect in ("REL", "IS", "OS"):
        df = relate.load_relate(world, aspect=aspect, screened=True)
        assert len(df) > 0
        assert set(df["source"]) <= set(S.SOURCES)
        assert set(df["split"]) <= {"train", "validation", "test"}
        assert not df["anchor"].any()
        assert "category" in df.columns and (df["category"] != "").all()
    df = relate.load_relate(world, aspect="REL", screened=True)
    assert len(df) == (rel_raw["in RELATE dataset"] != "excluded").sum()
    full = relate.load_relate(world, aspect="REL", screened=False)
    assert len(full) == len(rel_raw)


def test_failure_masks() -> None:
    failures = pd.Series(["none", "drop:dog;swap", "extra:wind", "anchor", "sub:a>b"])
    masks, faithful = S.failure_masks(failures)
    assert list(faithful) == [True, False, False, False, False]
    assert list(masks["drop"]) == [False, True, False, False, False]
    assert list(masks["swap"]) == [False, True, False, False, False]
    assert list(masks["extra"]) == [False, False, True, False, False]
    assert list(masks["sub"]) == [False, False, False, False, True]
    assert set(masks) == set(S.FAILURE_KINDS)
    with pytest.raises(ValueError, match="row 1"):
        S.failure_masks(pd.Series(["none", "melt:x"]))


def test_failure_table(world: Path) -> None:
    """failure_table is the per-source table chapter 90 showed (its cell, recomputed here)."""
    truth = S.load_truth(world)
    table = S.failure_table(truth)
    kinds = ["drop", "swap", "sub", "extra", "count", "unrelated"]
    real = truth[~truth["anchor"]]
    expected = pd.DataFrame(
        {
            k: real["failures"].str.contains(f"(?:^|;){k}").groupby(real["source"]).mean()
            for k in kinds
        }
    )
    expected["mean quality (0-1)"] = real.groupby("source")["quality"].mean()
    expected["mean relevance (0-10)"] = real.groupby("source")["relevance_10"].mean()
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    assert set(kinds) == set(S.FAILURE_KINDS)
    assert (table.loc["audiocaps", ["drop", "swap", "sub", "count", "unrelated"]] == 0).all()


def test_world_fingerprint(world: Path, tmp_path: Path) -> None:
    assert (
        S.world_fingerprint(world) == json.loads((world / "world.json").read_text())["fingerprint"]
    )
    copy = tmp_path / "copy"
    (copy / "scores").mkdir(parents=True)
    (copy / "scores" / "REL.csv").write_bytes((world / "scores" / "REL.csv").read_bytes())
    fingerprint = S.world_fingerprint(copy)  # no world.json: REL.csv and the wav files
    assert re.fullmatch(r"[0-9a-f]{32}", fingerprint)
    with pytest.raises(FileNotFoundError, match="REL.csv"):
        S.world_fingerprint(tmp_path / "nothing")
