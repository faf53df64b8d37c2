"""The simulated listening study: who rates which pair, the scores, and the screening marks.

Two pools, as in RELATE: the REL listeners (ids ``0000``...) rate relevance; the IS/OS pool (ids
from ``10000``) rates the same pairs for both inclusion and order. Each listener rates 6
captions x 3 audios and 3 anchors in random order (:mod:`humanclap.data.synthetic.design`).
As in RELATE, REL rows of excluded listeners
(:func:`~humanclap.data.synthetic.screening.screen_listeners`), anchors, and every row of a
caption left with a pair that has no kept rating are marked ``excluded`` in
``in RELATE dataset``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from humanclap.data.synthetic.captions import Caption
from humanclap.data.synthetic.design import assign
from humanclap.data.synthetic.listeners import draw_pool, draw_scores
from humanclap.data.synthetic.params import ANCHORS_PER_LISTENER, stream
from humanclap.data.synthetic.relevance import latent_values
from humanclap.data.synthetic.screening import screen_listeners

__all__ = ["POOLS", "Study", "simulate_study"]

#: The listener pools, each with the key of its random stream and the aspects it rates.
POOLS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("REL", 5, ("REL",)),
    ("IS_and_OS", 6, ("IS", "OS")),
)


@dataclass
class Study:
    """What the simulated study produced.

    Attributes
    ----------
    tables : dict
        Aspect (``REL``, ``IS``, ``OS``) -> ratings, one row per rating (the columns of
        ``scores/<aspect>.csv``, not yet in file order).
    listener_rows : list of dict
        One per listener of both pools (the rows of ``listeners.csv``).
    attr_tables : dict
        Pool (``REL``, ``IS_and_OS``) -> questionnaire table (``listener_id``,
        ``question1..12``).
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    listener_rows: list[dict] = field(default_factory=list)
    attr_tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def _rated_items(
    groups: np.ndarray,
    captions: list[Caption],
    pair_index: dict[tuple[str, str], int],
    anchor_pair: dict[int, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The rows each listener rates, shuffled: (listener, pair) arrays of shape (r,)."""
    r_listener, r_pair = [], []
    for li, group in enumerate(groups):
        items = [
            pair_index[captions[c].wavname(s), captions[c].text]
            for c in group
            for s in ("audiocaps", *captions[c].systems)
        ]
        items += [
            anchor_pair[int(c)] for c in rng.choice(group, ANCHORS_PER_LISTENER, replace=False)
        ]
        items = [items[k] for k in rng.permutation(len(items))]
        r_listener += [li] * len(items)
        r_pair += items
    return np.array(r_listener), np.array(r_pair)


def _mark_rel_excluded(
    rel: pd.DataFrame,
    sub: pd.DataFrame,
    r_pair: np.ndarray,
    truth: pd.DataFrame,
    screened: set[str],
) -> pd.DataFrame:
    """REL ratings with ``in RELATE dataset``: the pair's split, or ``excluded`` (module doc)."""
    split = sub["split"].to_numpy().copy()
    kept = ~rel["anchor label"].to_numpy() & ~rel["listener_id"].isin(screened).to_numpy()
    kept_per_pair = np.bincount(r_pair, weights=kept, minlength=len(truth))
    rated = np.bincount(r_pair, minlength=len(truth)) > 0
    lost = rated & (kept_per_pair == 0) & ~truth["anchor"].to_numpy()
    zero = set(truth.loc[lost, "caption_index"])
    split[~kept | sub["caption_index"].isin(zero).to_numpy()] = "excluded"
    return rel.assign(**{"in RELATE dataset": split})


def _listener_rows(
    pool: str,
    ids: list[str],
    params: dict[str, np.ndarray],
    r_listener: np.ndarray,
    screened: set[str],
) -> list[dict]:
    """One row of ``listeners.csv`` per listener of the pool."""
    n_ratings = np.bincount(r_listener, minlength=len(ids))
    rows = []
    for li, lid in enumerate(ids):
        rows.append(
            dict(
                listener_id=lid,
                pool=pool,
                scale=params["scale"][li],
                bias=params["bias"][li],
                noise=params["noise"][li],
                snap=params["snap"][li],
                careless=bool(params["careless_type"][li]),
                careless_type=params["careless_type"][li],
                constant=(
                    int(params["constant"][li]) if params["careless_type"][li] == "constant" else ""
                ),
                screened=lid in screened,
                n_ratings=int(n_ratings[li]),
            )
        )
    return rows


def _attribute_table(ids: list[str], params: dict[str, np.ndarray]) -> pd.DataFrame:
    """``listener_attributes/<pool>.csv``: ``listener_id``, ``question1..12``."""
    attrs = pd.DataFrame({"listener_id": ids})
    for q in range(1, 13):
        attrs[f"question{q}"] = params["attributes"][q]
    return attrs


def _simulate_pool(
    study: Study,
    pool: str,
    key: int,
    aspects: tuple[str, ...],
    captions: list[Caption],
    truth: pd.DataFrame,
    seed: int,
    p: dict,
) -> None:
    """Draw one pool, its items and its scores, and add them to ``study``."""
    latents = latent_values(truth)
    pair_index = {
        (w, t): i for i, (w, t) in enumerate(zip(truth["wavname"], truth["text"], strict=True))
    }
    anchor_pair = {
        c.index: pair_index[captions[c.anchor_of].wavname("audiocaps"), c.text] for c in captions
    }
    rng = stream(seed, key)
    groups = assign(len(captions), p["ratings_per_pair"], rng)
    params = draw_pool(len(groups), p["careless_fraction"], rng)
    ids = [f"{i:04d}" if pool == "REL" else str(10000 + i) for i in range(len(groups))]
    r_listener, r_pair = _rated_items(groups, captions, pair_index, anchor_pair, rng)
    sub = truth.iloc[r_pair]
    base = pd.DataFrame(
        {
            "wavname": sub["wavname"].to_numpy(),
            "text": sub["text"].to_numpy(),
            "listener_id": np.array(ids, dtype=object)[r_listener],
            "audio type": sub["audio_type"].to_numpy(),
            "anchor label": sub["anchor"].to_numpy(),
            "in AudioCaps": sub["in_audiocaps"].to_numpy(),
        }
    )
    offset = sub["offset"].to_numpy()
    screened: set[str] = set()
    for aspect in aspects:
        lat = latents[aspect.lower()][r_pair]
        df = base.assign(score=draw_scores(lat, offset, params, r_listener, rng))
        screened |= screen_listeners(df)
        study.tables[aspect] = df
    if pool == "REL":
        study.tables["REL"] = _mark_rel_excluded(study.tables["REL"], sub, r_pair, truth, screened)
    study.listener_rows += _listener_rows(pool, ids, params, r_listener, screened)
    study.attr_tables[pool] = _attribute_table(ids, params)


def simulate_study(captions: list[Caption], truth: pd.DataFrame, seed: int, p: dict) -> Study:
    """Run the listening study of a world (both pools, in :data:`POOLS` order).

    Parameters
    ----------
    captions : list of Caption
        The world's captions (anchors chosen).
    truth : pandas.DataFrame
        One row per pair, anchors included (the columns of ``truth.csv``).
    seed : int
        The world's seed.
    p : dict
        Validated parameters (:func:`~humanclap.data.synthetic.params.validated_params`).

    Returns
    -------
    Study
    """
    study = Study()
    for pool, key, aspects in POOLS:
        _simulate_pool(study, pool, key, aspects, captions, truth, seed, p)
    return study
