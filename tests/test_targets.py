"""``pair_table``'s targets: the plain mean and the listener-normalised ``listener_z``
(hand-computed, rank-keeping, in [0, 1], recorded in ``attrs``), and how each agrees with the
embedded world's truth."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from humanclap.data import RelateDataError, load_relate, pair_table
from humanclap.data import synthetic as S
from humanclap.data.pairs import TARGETS, listener_z

PAIRS = ["/a/1.wav", "/a/2.wav", "/a/3.wav", "/a/4.wav"]


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _ratings(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Ratings (listener, wavname, score) of one caption per clip, in the columns pair_table
    needs."""
    return pd.DataFrame(
        {
            "wavname": [w for _, w, _ in rows],
            "text": [f"caption of {w}" for _, w, _ in rows],
            "score": [s for _, _, s in rows],
            "listener_id": [listener for listener, _, _ in rows],
            "source": "audiocaps",
            "split": "train",
            "audiocap_id": [int(w[3]) for _, w, _ in rows],
        }
    )


#: 3 listeners, 4 pairs: A rates pairs 1-3, B pairs 1, 2 and 4, C (one rating) pair 3.
HAND = [
    ("A", PAIRS[0], 2),
    ("A", PAIRS[1], 4),
    ("A", PAIRS[2], 9),
    ("B", PAIRS[0], 6),
    ("B", PAIRS[1], 6),
    ("B", PAIRS[3], 9),
    ("C", PAIRS[2], 1),
]


def _hand_z() -> dict[tuple[str, str], float]:
    """Each listener's z-scores by explicit loops (population SD, 0 for a constant listener)."""
    z = {}
    for listener in sorted({row[0] for row in HAND}):
        mine = [(w, s) for name, w, s in HAND if name == listener]
        mean = sum(s for _, s in mine) / len(mine)
        sd = math.sqrt(sum((s - mean) ** 2 for _, s in mine) / len(mine))
        for w, s in mine:
            z[(listener, w)] = (s - mean) / sd if sd > 0 else 0.0
    return z


def test_listener_z_by_hand():
    z = _hand_z()
    sd_a = math.sqrt(26 / 3)  # A: 2, 4, 9 -> mean 5, deviations -3, -1, 4
    assert z[("A", PAIRS[0])] == pytest.approx(-3 / sd_a)
    assert z[("B", PAIRS[3])] == pytest.approx(math.sqrt(2))  # B: 6, 6, 9 -> mean 7, SD sqrt 2
    assert z[("C", PAIRS[2])] == 0.0  # a single rating: no spread, z = 0

    ratings = _ratings(HAND)
    got = listener_z(ratings)
    expected = [z[(listener, w)] for listener, w, _ in HAND]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12, atol=1e-15)
    assert got.index.equals(ratings.index)

    pairs = pair_table(ratings, target="listener_z").set_index("wavname")
    for w in PAIRS:
        mine = [z[(name, ww)] for name, ww, _ in HAND if ww == w]
        mean_z = sum(mine) / len(mine)
        assert pairs.loc[w, "mean_z"] == pytest.approx(mean_z, rel=1e-12, abs=1e-15)
        assert pairs.loc[w, "target"] == pytest.approx(_phi(mean_z), rel=1e-12)
        scores = [s for _, ww, s in HAND if ww == w]
        assert pairs.loc[w, "mean_score"] == pytest.approx(sum(scores) / len(scores))
    # pairs 2 and 3 tie on the plain mean (5); listener_z puts pair 3 (A's top score, with C's
    # lone rating at z = 0) above pair 2 (below both its listeners' means)
    assert pairs.loc[PAIRS[2], "target"] == pytest.approx(_phi(2 / sd_a), rel=1e-12)
    assert pairs.loc[PAIRS[1], "mean_score"] == pairs.loc[PAIRS[2], "mean_score"] == 5.0
    assert pairs.loc[PAIRS[1], "target"] < 0.5 < pairs.loc[PAIRS[2], "target"]
    assert pairs["target"].rank().tolist() == [1.0, 2.0, 3.0, 4.0]
    assert pairs.attrs == {"target": "listener_z", "target_rule": TARGETS["listener_z"]}

    plain = pair_table(ratings)
    assert plain.attrs == {"target": "mean", "target_rule": "mean_score / 10"}
    assert "mean_z" not in plain.columns
    np.testing.assert_array_equal(plain["target"], plain["mean_score"] / 10)
    shared = [c for c in plain.columns if c != "target"]
    pd.testing.assert_frame_equal(pairs.reset_index()[shared], plain[shared])


def test_constant_listener_sits_at_zero():
    rows = [("A", PAIRS[0], 5), ("A", PAIRS[1], 5), ("B", PAIRS[0], 3), ("B", PAIRS[1], 8)]
    z = listener_z(_ratings(rows)).to_numpy()
    np.testing.assert_allclose(z, [0.0, 0.0, -1.0, 1.0], atol=1e-15)


def test_listener_z_keeps_ranks_and_stays_in_unit_interval(world_ratings):
    pairs = pair_table(world_ratings, target="listener_z")
    assert pairs["target"].between(0, 1).all() and pairs["target"].notna().all()
    # the mapping is strictly increasing: the targets are ordered exactly like mean_z
    mean_z, target = pairs["mean_z"].to_numpy(), pairs["target"].to_numpy()
    order = np.argsort(mean_z, kind="stable")
    dz, dt = np.diff(mean_z[order]), np.diff(target[order])
    assert np.all(dt[dz > 0] > 0) and np.all(dt[dz == 0] == 0)
    assert stats.spearmanr(pairs["target"], pairs["mean_z"]).statistic == pytest.approx(1.0)
    # extreme mean_z still map into [0, 1] (no clip needed)
    lone = _ratings([("A", PAIRS[0], 0)] + [("A", PAIRS[1], 10)] * 99)
    assert pair_table(lone, target="listener_z")["target"].between(0, 1).all()
    # one listener who rated every pair: mean_z is an increasing affine map of the plain
    # mean, so the order is the same (ties compared after rounding away the last bits)
    one = world_ratings.assign(listener_id="only")
    score = world_ratings["score"]
    by_z, by_mean = pair_table(one, target="listener_z"), pair_table(one)
    expected = (by_mean["mean_score"] - score.mean()) / score.std(ddof=0)
    np.testing.assert_allclose(by_z["mean_z"], expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(
        by_z["target"].round(10).rank().to_numpy(), by_mean["target"].rank().to_numpy()
    )


def test_listener_z_ignores_each_listeners_bias_and_scale(world_ratings):
    """Any per-listener affine change of the scores (a > 0) leaves listener_z as it is."""
    rng = np.random.default_rng(0)
    ids = world_ratings["listener_id"].unique()
    a = dict(zip(ids, rng.uniform(0.3, 3.0, len(ids)), strict=True))
    b = dict(zip(ids, rng.normal(0, 4.0, len(ids)), strict=True))
    lid = world_ratings["listener_id"]
    skewed = world_ratings.assign(score=world_ratings["score"] * lid.map(a) + lid.map(b))
    base = pair_table(world_ratings, target="listener_z")
    moved = pair_table(skewed, target="listener_z")
    np.testing.assert_allclose(moved["target"], base["target"], rtol=0, atol=1e-12)
    assert not np.allclose(pair_table(skewed)["mean_score"], base["mean_score"])


def test_bad_target_and_missing_listener():
    ratings = _ratings(HAND)
    with pytest.raises(ValueError, match=r"target: expected one of \['listener_z', 'mean'\]"):
        pair_table(ratings, target="median")
    with pytest.raises(RelateDataError, match=r"missing column\(s\) \['listener_id'\]"):
        pair_table(ratings.drop(columns="listener_id"), target="listener_z")
    pair_table(ratings.drop(columns="listener_id"))  # the plain mean does not need it


# ----------------------------------------------------------------------------- the world
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded world of 60 captions (ratings only: the audio plays no part here)."""
    return S.ensure_world(tmp_path_factory.mktemp("worlds"), n_captions=60, write_audio=False)


@pytest.fixture(scope="module")
def world_ratings(world: Path) -> pd.DataFrame:
    return load_relate(world, categories=False, download=False, verify=False)


def _srcc_with_truth(pairs: pd.DataFrame, truth: pd.DataFrame) -> float:
    keys = list(zip(pairs["wavname"], pairs["text"], strict=True))
    return stats.spearmanr(pairs["target"], truth.loc[keys, "relevance_10"]).statistic


def test_listener_z_agrees_with_the_truth(world, world_ratings):
    """On the world as simulated, listener_z is about as good as the plain mean (measured,
    seed 0: SRCC 0.743 vs 0.750; over seeds 0-9 the difference ranges from -0.024 to +0.039,
    mean +0.006, so neither is asserted to win). Once the listeners' biases are large (each
    listener's scores shifted by N(0, 2) points, rounded and clipped to 0..10), listener_z
    removes them and wins clearly (this draw: 0.737 vs 0.647; over 20 draws 0.73 vs 0.68 on
    average, ahead in all 20)."""
    truth = S.load_truth(world).set_index(["wavname", "text"])
    plain = _srcc_with_truth(pair_table(world_ratings), truth)
    z = _srcc_with_truth(pair_table(world_ratings, target="listener_z"), truth)
    assert plain > 0.6 and z > 0.6
    assert z >= plain - 0.05

    rng = np.random.default_rng(1)
    ids = world_ratings["listener_id"].unique()
    shift = world_ratings["listener_id"].map(
        dict(zip(ids, rng.normal(0, 2, len(ids)), strict=True))
    )
    biased = world_ratings.assign(score=(world_ratings["score"] + shift).round().clip(0, 10))
    plain_biased = _srcc_with_truth(pair_table(biased), truth)
    z_biased = _srcc_with_truth(pair_table(biased, target="listener_z"), truth)
    assert z_biased > plain_biased + 0.01
    assert z_biased >= z - 0.05  # the biases barely move listener_z
    assert plain_biased < plain
