"""Simulated listeners: their parameters, how they rate, and the exact moments of a rating.

A genuine listener rates a pair ``round(10 * sigmoid(z))`` with ``z = scale * (logit(latent) +
offset) + bias + noise * h * eps``; with a listener-specific probability ``snap`` the score
goes to the nearest of the labelled scale points {0, 2, 5, 8, 10} instead
(:func:`rating_moments` documents the model). A fraction of listeners is *careless* (uniformly
random, constant, or "inattentive" 6..10 scores). The questionnaire answers follow the
marginals of RELATE's listener questionnaire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

__all__ = [
    "BIAS_SD",
    "LATENT_EPS",
    "NOISE_FLOOR",
    "NOISE_RANGE",
    "OFFSET_SD",
    "PARAM_DIMS",
    "SCALE_SD",
    "SNAP_POINTS",
    "default_population",
    "draw_pool",
    "draw_scores",
    "latent_logit",
    "listener_params",
    "noise_shape",
    "rating_moments",
]

LATENT_EPS = 0.005
#: SD of the per-pair perceptual offset shared by all listeners (logit units).
OFFSET_SD = 0.3
SNAP_POINTS = (0, 2, 5, 8, 10)
# listener population (logit units); see listener_params
SCALE_SD = 0.3
BIAS_SD = 0.6
NOISE_RANGE = (1.2, 2.4)
NOISE_FLOOR = 0.35

_Q_PROBS = {  # marginals of RELATE's listener questionnaire (both pools), rounded
    1: [0.031, 0.297, 0.284, 0.176, 0.129, 0.083],
    2: [0.552, 0.441, 0.007],
    6: [0.233, 0.194, 0.189, 0.14, 0.09, 0.154],
    7: [0.274, 0.398, 0.142, 0.106, 0.053, 0.023, 0.004],
    8: [0.207, 0.307, 0.265, 0.122, 0.1],
    9: [0.556, 0.4, 0.044],
    10: [0.9, 0.073, 0.02, 0.004, 0.003],
    11: [0.249, 0.559, 0.179, 0.013],
    12: [0.118, 0.882],
}
_COUNTRIES = ["United Kingdom", "United States", "Nigeria", "Ghana", "Kenya", "Philippines"]
_COUNTRY_PROBS = [0.43, 0.435, 0.08, 0.02, 0.02, 0.015]
PARAM_DIMS = 7  # scale, bias, noise, snap, question9, question10, question12


def categorical(u: np.ndarray, probs: Sequence[float]) -> np.ndarray:
    """Uniforms ``u`` (shape (n,)) -> 1-based categories with probabilities ``probs``."""
    cdf = np.cumsum(probs) / np.sum(probs)
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(probs) - 1) + 1


def listener_params(u: np.ndarray) -> dict[str, np.ndarray]:
    """Map uniforms of shape (n, 7) to listener parameters (the population model).

    scale ~ LogNormal(0, 0.25); bias ~ N(0, 0.45); noise ~ U(0.6, 1.3) times 0.8 if
    question12 = 1 (audio professional), 1.25 if question10 >= 3 (noisy room), 1.15 if
    question9 = 3 (other device); snap ~ Beta(1.5, 2.5).
    """
    u = np.clip(u, 1e-9, 1 - 1e-9)
    q9 = categorical(u[:, 4], _Q_PROBS[9])
    q10 = categorical(u[:, 5], _Q_PROBS[10])
    q12 = categorical(u[:, 6], _Q_PROBS[12])
    noise = NOISE_RANGE[0] + (NOISE_RANGE[1] - NOISE_RANGE[0]) * u[:, 2]
    noise = noise * np.where(q12 == 1, 0.8, 1.0) * np.where(q10 >= 3, 1.25, 1.0)
    noise = noise * np.where(q9 == 3, 1.15, 1.0)
    return {
        "scale": np.exp(SCALE_SD * special.ndtri(u[:, 0])),
        "bias": BIAS_SD * special.ndtri(u[:, 1]),
        "noise": noise,
        "snap": stats.beta.ppf(u[:, 3], 1.5, 2.5),
        "question9": q9,
        "question10": q10,
        "question12": q12,
    }


@lru_cache(maxsize=1)
def default_population() -> dict[str, np.ndarray]:
    """A fixed scrambled-Sobol sample of 2,048 genuine listeners: the population for moments."""
    u = stats.qmc.Sobol(PARAM_DIMS, scramble=True, seed=20250918).random(2048)
    return listener_params(u)


def latent_logit(latent: ArrayLike) -> np.ndarray:
    """``logit`` of the latent value clipped to [LATENT_EPS, 1 - LATENT_EPS], shape (n,)."""
    return special.logit(np.clip(np.asarray(latent, dtype=float), LATENT_EPS, 1 - LATENT_EPS))


def noise_shape(latent: ArrayLike) -> np.ndarray:
    """Multiplier of listener noise: NOISE_FLOOR for clearly irrelevant pairs, rising to 1."""
    lat = np.clip(np.asarray(latent, dtype=float), LATENT_EPS, 1 - LATENT_EPS)
    return NOISE_FLOOR + (1 - NOISE_FLOOR) * (1 - (1 - lat) ** 4)


_ROUND_BOUNDS = special.logit((np.arange(10) + 0.5) / 10)  # z above bound j -> score > j
_SNAP_BOUNDS = special.logit(np.array([1.0, 3.5, 6.5, 9.0]) / 10)
_SNAP_VALUES = np.array(SNAP_POINTS, dtype=float)


def _step_moments(
    mu: np.ndarray, sd: np.ndarray, bounds: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """E[y], E[y^2] for y = values[#bounds below z], z ~ N(mu, sd^2); broadcasting."""
    above = special.ndtr((mu[..., None] - bounds) / sd[..., None])  # P(z > bound)
    probs = np.concatenate(
        [1 - above[..., :1], above[..., :-1] - above[..., 1:], above[..., -1:]], axis=-1
    )
    return probs @ values, probs @ values**2


def rating_moments(
    latent: ArrayLike,
    offset: ArrayLike,
    population: Mapping[str, np.ndarray] | None = None,
    weights: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and variance of one listener's score for each pair.

    The score of a genuine listener with parameters (scale, bias, noise, snap) is
    ``y = r(10 * sigmoid(z))``, ``z = scale * (logit(clip(latent, 0.005, 0.995)) + offset) +
    bias + noise * h(latent) * eps``, ``eps ~ N(0, 1)``, ``h(x) = 0.35 + 0.65 * (1 - (1 - x)**4)``,
    where ``r`` rounds to the nearest integer with probability ``1 - snap`` and to the nearest of
    {0, 2, 5, 8, 10} with probability ``snap``. Given the listener, P(y = v) is a difference of
    normal CDFs, so the moments are exact; they are then averaged over the listeners of
    ``population``. The default population is a fixed scrambled-Sobol sample of 2,048 listeners
    from the population model (quasi-Monte-Carlo error well below 0.01 score points); this is
    what ``truth.csv``'s ``expected_*`` / ``var_*`` columns hold.

    Parameters
    ----------
    latent : array-like, shape (n,)
        Latent value in [0, 1] (relevance, inclusion or inclusion x order).
    offset : array-like, shape (n,)
        Per-pair perceptual offset (logit units).
    population : mapping, optional
        Arrays of shape (m,): ``scale, bias, noise, snap`` and optionally ``careless_type``
        ("" for genuine, "random", "constant", "inattentive") with ``constant`` (the constant
        listener's score). Careless listeners' scores do not depend on the pair: uniform on
        0..10, the constant, or uniform on 6..10.
    weights : array-like, shape (m,), optional
        Weight of each listener (e.g. their number of ratings); default equal.

    Returns
    -------
    mean, var : numpy.ndarray, shape (n,)
        E[y] and Var[y] for a rating by a listener drawn from ``population`` (with probability
        proportional to ``weights``), over their noise (0..10 scale).
    """
    pop = default_population() if population is None else population
    ll = latent_logit(latent) + np.asarray(offset, dtype=float)
    shape = noise_shape(latent)
    s, b, sd, snap = (np.asarray(pop[k], float) for k in ("scale", "bias", "noise", "snap"))
    m = len(s)
    w = np.ones(m) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (m,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be {m} non-negative numbers with a positive sum")
    w = w / w.sum()
    kind = np.asarray(pop.get("careless_type", np.full(m, "")), dtype=object)
    genuine = kind == ""
    mean = np.zeros(len(ll))
    second = np.zeros(len(ll))
    if genuine.any():
        s, b, sd, snap, wg = s[genuine], b[genuine], sd[genuine], snap[genuine], w[genuine]
        for i in range(0, len(ll), 128):
            mu = ll[i : i + 128, None] * s + b  # (chunk, m)
            sdm = shape[i : i + 128, None] * sd
            m1, m2 = _step_moments(mu, sdm, _ROUND_BOUNDS, np.arange(11.0))
            s1, s2 = _step_moments(mu, sdm, _SNAP_BOUNDS, _SNAP_VALUES)
            mean[i : i + 128] = ((1 - snap) * m1 + snap * s1) @ wg
            second[i : i + 128] = ((1 - snap) * m2 + snap * s2) @ wg
    const = np.asarray(pop.get("constant", np.zeros(m)), dtype=float)
    for j in np.flatnonzero(~genuine):
        if kind[j] == "random":
            values = np.arange(11.0)
        elif kind[j] == "inattentive":
            values = np.arange(6.0, 11.0)
        elif kind[j] == "constant":
            values = np.array([const[j]])
        else:
            raise ValueError(f"unknown careless_type {kind[j]!r}")
        mean += w[j] * values.mean()
        second += w[j] * (values**2).mean()
    return mean, np.maximum(second - mean**2, 0.0)


def draw_scores(
    latent: np.ndarray,
    offset: np.ndarray,
    params: Mapping[str, np.ndarray],
    rows_listener: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sample integer scores, one per row (see :func:`rating_moments` for the model).

    Parameters
    ----------
    latent, offset : numpy.ndarray, shape (r,)
        Latent value and perceptual offset of each rated row's pair.
    params : mapping
        A pool of :func:`draw_pool` (arrays of shape (m,)).
    rows_listener : numpy.ndarray of int, shape (r,)
        Which listener of the pool rates each row.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int64, shape (r,)
        Scores in 0..10.
    """
    ll = latent_logit(latent) + offset
    s = params["scale"][rows_listener]
    z = s * ll + params["bias"][rows_listener]
    sd = params["noise"][rows_listener] * noise_shape(latent)
    z = z + sd * rng.standard_normal(len(ll))
    c = 10 * special.expit(z)
    snapped = rng.random(len(ll)) < params["snap"][rows_listener]
    nearest = np.floor(c + 0.5)
    snap_idx = np.searchsorted(special.expit(_SNAP_BOUNDS) * 10, c, side="right")
    y = np.where(snapped, _SNAP_VALUES[snap_idx], nearest)
    # careless listeners ignore the audio
    kind = params["careless_type"][rows_listener]
    rand = rng.integers(0, 11, size=len(ll))
    high = rng.integers(6, 11, size=len(ll))
    y = np.where(kind == "random", rand, y)
    y = np.where(kind == "inattentive", high, y)
    y = np.where(kind == "constant", params["constant"][rows_listener], y)
    return np.clip(y, 0, 10).astype(np.int64)


def draw_pool(n: int, careless_fraction: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw a pool of ``n`` listeners: :func:`listener_params`, who is careless and how
    (``careless_type``, ``constant``), and the questionnaire answers (``attributes``: question
    number -> array (n,))."""
    params = listener_params(rng.random((n, PARAM_DIMS)))
    n_careless = int(round(careless_fraction * n))
    if careless_fraction > 0 and n >= 5:
        n_careless = max(n_careless, 1)
    kinds = np.full(n, "", dtype=object)
    idx = rng.choice(n, size=n_careless, replace=False)
    kinds[idx] = rng.choice(["random", "constant", "inattentive"], size=n_careless)
    params["careless_type"] = kinds
    params["constant"] = rng.integers(5, 11, size=n)
    attrs = {}
    for q in range(1, 13):
        if q in (3, 4, 5):
            continue
        attrs[q] = (
            params[f"question{q}"] if q in (9, 10, 12) else categorical(rng.random(n), _Q_PROBS[q])
        )
    nat = rng.choice(_COUNTRIES, size=n, p=_COUNTRY_PROBS)
    origin = np.where(rng.random(n) < 0.93, nat, rng.choice(_COUNTRIES, size=n, p=_COUNTRY_PROBS))
    live = np.where(rng.random(n) < 0.55, "United Kingdom", "United States")
    attrs[3], attrs[4], attrs[5] = nat, origin, live
    params["attributes"] = attrs
    return params
