"""The design of the simulated study, as in RELATE: the captions, their splits and clip ids,
which natural clip is each caption's anchor, and which listener rates which captions.

Captions (and so all their pairs) go to train / validation / test (53 / 23.5 / 23.5 % by
default); train captions are "AudioCaps train" clips (ids < 100000, folder ``train``),
validation and test captions "AudioCaps test" clips (ids >= 100000, folder ``test``). Each
listener rates 6 captions x 3 audios and 3 anchors.
"""

from __future__ import annotations

import numpy as np

from humanclap.data.synthetic.captions import Caption, plan_caption
from humanclap.data.synthetic.failures import Clip
from humanclap.data.synthetic.params import RATINGS_PER_LISTENER, SYSTEM_PAIRS, stream

__all__ = ["assign", "choose_anchors", "plan_world"]


def plan_world(seed: int, p: dict) -> list[Caption]:
    """Draw ``p["n_captions"]`` distinct captions, their splits, clip ids and system pairs."""
    n = p["n_captions"]
    captions: list[Caption] = []
    seen: set[str] = set()
    for i in range(n):
        for attempt in range(1000):
            cap = plan_caption(i, stream(seed, 1, i, attempt))
            if cap.text not in seen:
                break
        else:
            raise RuntimeError(f"could not draw a unique caption #{i}")
        seen.add(cap.text)
        captions.append(cap)
    rng = stream(seed, 2)
    order = rng.permutation(n)
    n_train = int(round(p["split_fractions"][0] * n))
    n_val = int(round(p["split_fractions"][1] * n))
    splits = np.array(["test"] * n, dtype=object)
    splits[order[:n_train]] = "train"
    splits[order[n_train : n_train + n_val]] = "validation"
    train_ids = np.sort(rng.choice(np.arange(1, 100000), size=n, replace=False))
    test_ids = np.sort(
        rng.choice(np.arange(100000, 100000 + max(8000, 2 * n)), size=n, replace=False)
    )
    rng.shuffle(train_ids)
    rng.shuffle(test_ids)
    pair_choice = rng.permutation(np.arange(n) % 2)
    for i, cap in enumerate(captions):
        cap.split = str(splits[i])
        cap.audiocap_id = int(train_ids[i] if cap.split == "train" else test_ids[i])
        cap.systems = SYSTEM_PAIRS[int(pair_choice[i])]
    return captions


def choose_anchors(captions: list[Caption], natural: list[Clip], seed: int) -> None:
    """Anchor audio of each caption: the natural clip of another caption that contains none of
    the caption's classes (extras included); falls back to the fewest shared classes."""
    rng = stream(seed, 7)
    heard = [{e.cls for e in clip.events} for clip in natural]
    for i, cap in enumerate(captions):
        mine = set(cap.classes)
        shared = np.array([len(mine & h) if j != i else 99 for j, h in enumerate(heard)])
        cap.anchor_of = int(rng.choice(np.flatnonzero(shared == shared.min())))


def assign(n_captions: int, ratings_per_pair: float, rng: np.random.Generator) -> np.ndarray:
    """Caption slots per listener: array (n_listeners, 6), no caption twice for a listener.

    Each caption gets ``1 + Poisson(ratings_per_pair - 1)`` listeners (topped up so that the
    slots fill whole listeners).
    """
    n_raters = 1 + rng.poisson(max(ratings_per_pair - 1, 0.0), size=n_captions)
    while n_raters.sum() % RATINGS_PER_LISTENER:
        n_raters[int(rng.choice(np.flatnonzero(n_raters == n_raters.min())))] += 1
    slots = np.repeat(np.arange(n_captions), n_raters)
    rng.shuffle(slots)
    groups = slots.reshape(-1, RATINGS_PER_LISTENER)
    for _ in range(100 * len(groups)):
        dup = [g for g in range(len(groups)) if len(set(groups[g])) < RATINGS_PER_LISTENER]
        if not dup:
            return groups
        g = dup[0]
        vals, counts = np.unique(groups[g], return_counts=True)
        i = int(np.flatnonzero(groups[g] == vals[counts > 1][0])[0])
        h, j = int(rng.integers(len(groups))), int(rng.integers(RATINGS_PER_LISTENER))
        a, b = groups[g, i], groups[h, j]
        if h != g and b not in groups[g] and a not in groups[h]:
            groups[g, i], groups[h, j] = b, a
    raise RuntimeError("could not assign captions to listeners without repeats")
