"""Reading what a synthetic world knows: the truth of every pair, its listeners, the failure
kinds, and the exact noise ceiling the simulation implies."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from humanclap.data.files import SIMULATED_SOURCES
from humanclap.data.synthetic.failures import FAILURE_KINDS
from humanclap.data.synthetic.layout import TRUTH_COLUMNS
from humanclap.data.synthetic.listeners import rating_moments
from humanclap.data.synthetic.relevance import latent_values
from humanclap.data.synthetic.screening import screen_listeners

__all__ = [
    "FAILURE_KINDS",
    "failure_masks",
    "failure_table",
    "load_listeners",
    "load_truth",
    "true_noise_ceiling",
]

#: The column order of :func:`failure_table` (the order chapter 90's prose names the failures).
_TABLE_KINDS: tuple[str, ...] = ("drop", "swap", "sub", "extra", "count", "unrelated")


def load_truth(root: str | os.PathLike) -> pd.DataFrame:
    """Read ``truth.csv`` (one row per pair, anchors included; see :data:`TRUTH_COLUMNS`).

    ``failures`` is ``"none"`` for a faithful render, ``"anchor"`` for anchors, otherwise a
    ``;``-list of ``drop:<class>``, ``sub:<class>><class>``, ``count:<class>``, ``swap``,
    ``extra:<class>``, ``unrelated:<class>``. ``caption_events`` lists ``class[*count]@segment``
    in caption order; ``audio_events`` lists ``class[*count]@onset-offset`` (seconds) in time
    order. ``source`` names the four systems ``sim-audioldm`` ... as every table of the world
    does (:data:`humanclap.data.files.SIMULATED_SOURCES`); ``wavname`` keeps the folders.
    """
    path = Path(root) / "truth.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {root} a synthetic world?")
    df = pd.read_csv(path, keep_default_na=False, dtype={"in_audiocaps": str, "split": str})
    missing = [c for c in TRUTH_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")
    df["anchor"] = df["anchor"].astype(str).str.lower().map({"true": True, "false": False})
    df["source"] = df["source"].replace(SIMULATED_SOURCES)
    return df


def failure_masks(failures: pd.Series) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Which pairs carry each failure kind, and which are faithful.

    Parameters
    ----------
    failures : pd.Series of str, shape (n,)
        The ``failures`` column of :func:`load_truth` (``"none"``, ``"anchor"`` or a
        ``;``-list such as ``"drop:dog_bark;swap"``).

    Returns
    -------
    (dict of kind -> bool array (n,), bool array (n,))
        One mask per kind of :data:`FAILURE_KINDS` (a pair with two failures is in both), and
        the mask of faithful pairs (``"none"``).

    Raises
    ------
    ValueError
        A value holds a token of no known kind (the message names the row).
    """
    values = failures.astype(str)
    tokens = values.str.split(";")
    known = {*FAILURE_KINDS, "none", "anchor"}
    for idx, items in tokens.items():
        bad = [t for t in items if t.split(":", 1)[0] not in known]
        if bad:
            raise ValueError(f"failures: row {idx} has unknown failure token(s) {bad}")
    kinds = tokens.map(lambda items: {t.split(":", 1)[0] for t in items})
    masks = {k: kinds.map(lambda s, k=k: k in s).to_numpy(dtype=bool) for k in FAILURE_KINDS}
    return masks, (values == "none").to_numpy()


def failure_table(truth: pd.DataFrame) -> pd.DataFrame:
    """Per source, the share of pairs with each failure kind, their quality and relevance.

    Parameters
    ----------
    truth : pandas.DataFrame
        :func:`load_truth` of a world (anchors are left out).

    Returns
    -------
    pandas.DataFrame
        Index ``source`` (sorted); columns ``drop, swap, sub, extra, count, unrelated`` (share
        of the source's pairs that carry the failure kind, 0..1; a pair with two failures
        counts for both), ``mean quality (0-1)`` and ``mean relevance (0-10)``.
    """
    real = truth[~truth["anchor"]]
    masks, _ = failure_masks(real["failures"])
    table = pd.DataFrame(
        {
            kind: pd.Series(masks[kind], index=real.index).groupby(real["source"]).mean()
            for kind in _TABLE_KINDS
        }
    )
    table["mean quality (0-1)"] = real.groupby("source")["quality"].mean()
    table["mean relevance (0-10)"] = real.groupby("source")["relevance_10"].mean()
    return table


def load_listeners(root: str | os.PathLike) -> pd.DataFrame:
    """Read ``listeners.csv``: per listener (``pool`` REL or IS_and_OS) the simulated parameters
    (``scale, bias, noise, snap``), ``careless`` and ``careless_type`` ("" for genuine, "random",
    "constant", "inattentive"), ``constant`` (the constant listener's score, else empty),
    whether :func:`screen_listeners` excluded them (``screened``) and ``n_ratings``."""
    path = Path(root) / "listeners.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {root} a synthetic world?")
    return pd.read_csv(
        path, keep_default_na=False, dtype={"listener_id": str, "careless_type": str}
    )


def _used_ratings(root: Path, aspect: str, screened: bool) -> pd.DataFrame:
    """The non-anchor ratings of ``aspect`` that screening keeps (all of them when not
    ``screened``)."""
    cols = {"dtype": {"listener_id": str}, "keep_default_na": False}
    df = pd.read_csv(root / "scores" / f"{aspect}.csv", **cols)
    df = df[df["anchor label"].astype(str) != "True"]
    if screened:
        if aspect == "REL":
            df = df[df["in RELATE dataset"] != "excluded"]
        else:
            out: set[str] = set()
            for a in ("IS", "OS"):
                out |= screen_listeners(pd.read_csv(root / "scores" / f"{a}.csv", **cols))
            df = df[~df["listener_id"].isin(out)]
    return df


def _rated_pairs(
    truth: pd.DataFrame, df: pd.DataFrame, aspect: str, split: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rated non-anchor pairs (truth with the ratings' ``mean`` and ``count``) of
    ``split``, and the ratings of that split."""
    g = df.groupby(["wavname", "text"])["score"].agg(["mean", "count"]).reset_index()
    t = truth[~truth["anchor"]].merge(g, on=["wavname", "text"], how="inner")
    if split is not None:
        if split not in ("train", "validation", "test"):
            raise ValueError(f"split must be train, validation or test, got {split!r}")
        t = t[t["split"] == split]
        df = df[df["text"].isin(set(t["text"]))]
    if len(t) < 3:
        raise ValueError(f"too few pairs ({len(t)}) for aspect={aspect}, split={split}")
    return t, df


def _pool_moments(
    t: pd.DataFrame, df: pd.DataFrame, listeners: pd.DataFrame, root: Path, aspect: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """``T_p`` and ``V_p`` per pair over the pool of the raters of ``df`` (weighted by their
    number of ratings), and the pool's size."""
    used = df["listener_id"].value_counts()
    unknown = used.index.difference(listeners.index)
    if len(unknown):
        raise ValueError(f"{root}/listeners.csv lacks listener(s) {list(unknown[:5])}")
    pool = listeners.loc[used.index]
    tv, vv = rating_moments(
        latent_values(t)[aspect.lower()],
        t["offset"].to_numpy(),
        population={
            "scale": pool["scale"].to_numpy(),
            "bias": pool["bias"].to_numpy(),
            "noise": pool["noise"].to_numpy(),
            "snap": pool["snap"].to_numpy(),
            "careless_type": pool["careless_type"].to_numpy(dtype=object),
            "constant": pd.to_numeric(pool["constant"], errors="coerce").fillna(0).to_numpy(),
        },
        weights=used.to_numpy(),
    )
    return tv, vv, len(pool)


def true_noise_ceiling(
    root: str | os.PathLike,
    aspect: str = "REL",
    split: str | None = None,
    screened: bool = True,
) -> dict[str, float]:
    """The reliability of the observed pair means, exactly as implied by the simulation.

    The raters of the used ratings form a pool (genuine listeners, plus any careless listener
    screening missed), each weighted by their number of used ratings. For pair p let ``T_p`` be
    the expected score of a rating by a listener drawn from that pool and ``V_p`` its variance
    (over who rates and their noise; :func:`rating_moments` with the listeners' true parameters,
    exact). If the ``k_p`` raters of p are independent draws from the pool,
    ``E[mean_p | p] = T_p`` and ``Var[mean_p | p] = V_p / k_p``; over the pairs,
    ``Cov(mean, T) = Var(T)`` and ``Var(mean) = Var(T) + E[V/k]``, so the correlation between the
    observed means and the true means -- the best LCC that any predictor of ``T`` can reach
    against the observed means, which chapter 1 estimates by ``sqrt(ICC(1,k))`` -- is
    ``sqrt(reliability)`` with ``reliability = Var(T) / (Var(T) + E[V / k])``. Variances are over
    the selected pairs (ddof=0), with their actual ``k_p``. When ``k_p`` varies, the usual
    estimate ``sqrt(ICC(1,k))`` with one average k overstates this, because
    ``E[V/k] > E[V] / mean(k)``: over ten default worlds (REL, screened) the one-way ANOVA gave
    ``sqrt(ICC(1,k0))`` = 0.86 on average while the true ceiling and the observed correlation
    were both 0.82; ``icc1`` itself was estimated almost without bias (0.43 vs 0.41; screening
    keeps slightly more consistent raters than their parameters imply).

    The pool (not the whole population) is the right reference: screening keeps the listeners
    who agree more (on the default world it lowers the within-pair variance by about 5 %), and
    a noise ceiling is about the raters that produced the data. ``truth.csv``'s
    ``expected_*``/``var_*`` columns are the population values instead.

    Parameters
    ----------
    root : path-like
        A world.
    aspect : {"REL", "IS", "OS"}
    split : {"train", "validation", "test"}, optional
        Only pairs of this split.
    screened : bool
        Use only ratings kept by screening (REL: ``in RELATE dataset != excluded``; IS/OS:
        listeners not excluded by :func:`screen_listeners` on IS or OS). Anchors are never used.

    Returns
    -------
    dict
        ``reliability`` (true reliability of the k-rating means), ``ceiling_lcc`` (its square
        root), ``icc1`` (single-rating reliability ``Var(T) / (Var(T) + E[V])``),
        ``observed_lcc`` (corr of this world's observed means with ``T``), ``var_true``
        (``Var(T)``), ``mean_noise_var`` (``E[V/k]``), ``mean_within_var`` (``E[V]``),
        ``mean_k``, ``n_pairs``, ``n_listeners``.
    """
    if aspect not in ("REL", "IS", "OS"):
        raise ValueError(f"aspect must be REL, IS or OS, got {aspect!r}")
    root = Path(root)
    truth = load_truth(root)
    listeners = load_listeners(root).set_index("listener_id")
    t, df = _rated_pairs(truth, _used_ratings(root, aspect, screened), aspect, split)
    tv, vv, n_listeners = _pool_moments(t, df, listeners, root, aspect)
    k = t["count"].to_numpy()
    var_t = float(np.var(tv))
    noise = float(np.mean(vv / k))
    rel = var_t / (var_t + noise)
    return {
        "reliability": rel,
        "ceiling_lcc": float(np.sqrt(rel)),
        "icc1": var_t / (var_t + float(np.mean(vv))),
        "observed_lcc": float(np.corrcoef(t["mean"], tv)[0, 1]),
        "var_true": var_t,
        "mean_noise_var": noise,
        "mean_within_var": float(np.mean(vv)),
        "mean_k": float(k.mean()),
        "n_pairs": len(t),
        "n_listeners": n_listeners,
    }
