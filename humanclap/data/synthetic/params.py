"""The parameters of a synthetic world: its sources and their failure profiles, the study's
fixed design, the defaults and checks of :func:`~humanclap.data.synthetic.generate`'s
parameters, the key they give a world, and the seeded random streams everything is drawn from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from humanclap.data.files import SOURCES
from humanclap.utils import sha256_bytes

__all__ = [
    "ANCHORS_PER_LISTENER",
    "ARTEFACTS",
    "AUDIO_TYPE",
    "GENERATOR_VERSION",
    "PROFILES",
    "RATINGS_PER_LISTENER",
    "SAMPLE_RATE",
    "SOURCES",
    "SYSTEM_PAIRS",
    "SystemProfile",
    "default_params",
    "stream",
    "validated_params",
    "world_key",
]

GENERATOR_VERSION = "1.0.0"
SAMPLE_RATE = 16000
#: ``audio type`` column value per source, merged like RELATE's.
AUDIO_TYPE: dict[str, str] = {
    "audiocaps": "natural",
    "audioldm": "audioldm",
    "audioldm2": "audioldm",
    "tango": "tango",
    "tango2": "tango",
}
#: The two system combinations a caption is rendered by (besides the natural clip), as in RELATE.
SYSTEM_PAIRS: tuple[tuple[str, str], ...] = (("audioldm", "tango2"), ("audioldm2", "tango"))
RATINGS_PER_LISTENER = 6  # captions per listener (x 3 audios)
ANCHORS_PER_LISTENER = 3


@dataclass(frozen=True)
class SystemProfile:
    """How one source renders a caption.

    Probabilities are per opportunity: ``p_drop`` per caption event (captions with >= 2 events;
    when every event is dropped the clip holds an unrelated event instead), ``p_substitute`` per
    remaining event (class -> a confusable class), ``p_count`` per remaining countable event with
    a stated count (>= 2), ``p_swap`` per clip with >= 2 occupied segments (two adjacent segments
    exchange places), ``p_extra`` per clip (one unmentioned event). ``quality ~ Beta(quality_a,
    quality_b)`` per clip; the severity ``1 - quality`` drives each of ``artefacts``.
    """

    p_drop: float
    p_swap: float
    p_substitute: float
    p_count: float
    p_extra: float
    quality_a: float
    quality_b: float
    artefacts: tuple[str, ...]

    @property
    def quality_mean(self) -> float:
        """Mean of the clip quality's Beta distribution."""
        return self.quality_a / (self.quality_a + self.quality_b)


#: The kinds of degradation a profile may apply (see :mod:`humanclap.data.synthetic.render`).
ARTEFACTS = ("noise", "bandlimit", "smear", "musical_noise", "clicks")

#: Failure profile per source. ``audiocaps`` is the faithful "natural" render.
PROFILES: dict[str, SystemProfile] = {
    "audiocaps": SystemProfile(0.0, 0.0, 0.0, 0.0, 0.50, 6.0, 2.0, ("noise",)),
    "audioldm": SystemProfile(0.25, 0.40, 0.20, 0.40, 0.10, 3.0, 2.2, ("bandlimit", "smear")),
    "audioldm2": SystemProfile(0.22, 0.35, 0.17, 0.35, 0.10, 3.5, 2.0, ("musical_noise", "noise")),
    "tango": SystemProfile(0.18, 0.30, 0.15, 0.30, 0.08, 4.0, 2.0, ("bandlimit", "clicks")),
    "tango2": SystemProfile(0.05, 0.08, 0.06, 0.15, 0.05, 6.0, 2.0, ("smear",)),
}


def default_params() -> dict:
    """The default generation parameters (what :func:`generate` uses when not told otherwise)."""
    return {
        "n_captions": 400,
        "clip_seconds": 4.0,
        "ratings_per_pair": 4.2,
        "careless_fraction": 0.08,
        "split_fractions": [0.53, 0.235, 0.235],
        "profiles": {k: _profile_dict(v) for k, v in PROFILES.items()},
        "write_audio": True,
    }


def _profile_dict(p: SystemProfile) -> dict:
    d = asdict(p)
    d["artefacts"] = list(p.artefacts)
    return d


def validated_params(params: Mapping) -> dict:
    """:func:`default_params` updated with ``params`` (profiles merged per source), typed and
    checked.

    Raises
    ------
    TypeError
        An unknown parameter.
    ValueError
        A value out of range, an unknown source or artefact.
    """
    p = default_params()
    unknown = sorted(set(params) - set(p))
    if unknown:
        raise TypeError(f"unknown world parameter(s) {unknown}; known: {sorted(p)}")
    profiles = dict(p["profiles"])
    for name, prof in dict(params.get("profiles") or {}).items():
        if name not in SOURCES:
            raise ValueError(f"profiles: unknown source {name!r}; known: {SOURCES}")
        merged = {**profiles[name], **dict(prof)}
        SystemProfile(**{**merged, "artefacts": tuple(merged["artefacts"])})  # validates keys
        profiles[name] = merged
    p.update({k: v for k, v in params.items() if k != "profiles"})
    p["profiles"] = profiles
    p["n_captions"] = int(p["n_captions"])
    p["clip_seconds"] = float(p["clip_seconds"])
    p["ratings_per_pair"] = float(p["ratings_per_pair"])
    p["careless_fraction"] = float(p["careless_fraction"])
    p["split_fractions"] = [float(x) for x in p["split_fractions"]]
    p["write_audio"] = bool(p["write_audio"])
    if p["n_captions"] < 2 * RATINGS_PER_LISTENER:
        raise ValueError(f"n_captions must be >= {2 * RATINGS_PER_LISTENER}, got {p['n_captions']}")
    if not 0.5 <= p["clip_seconds"] <= 30:
        raise ValueError(f"clip_seconds must be in [0.5, 30], got {p['clip_seconds']}")
    if p["ratings_per_pair"] < 1:
        raise ValueError(f"ratings_per_pair must be >= 1, got {p['ratings_per_pair']}")
    if not 0 <= p["careless_fraction"] < 0.5:
        raise ValueError(f"careless_fraction must be in [0, 0.5), got {p['careless_fraction']}")
    fr = p["split_fractions"]
    if len(fr) != 3 or min(fr) < 0 or abs(sum(fr) - 1) > 1e-6:
        raise ValueError(f"split_fractions must be 3 non-negative numbers summing to 1, got {fr}")
    for name, prof in profiles.items():
        for k in ("p_drop", "p_swap", "p_substitute", "p_count", "p_extra"):
            if not 0 <= prof[k] <= 1:
                raise ValueError(f"profiles[{name!r}][{k!r}] must be in [0, 1], got {prof[k]}")
        bad = [a for a in prof["artefacts"] if a not in ARTEFACTS]
        if bad:
            raise ValueError(f"profiles[{name!r}]: unknown artefact(s) {bad}; known {ARTEFACTS}")
    return p


def stream(seed: int, *key: int) -> np.random.Generator:
    """The random stream of one step of the world, from ``seed`` and the step's ``key``.

    Keys: ``(1, caption, attempt)`` caption wording, ``2`` splits and ids, ``(3, caption,
    source)`` one clip (failures, timing, audio), ``4`` perceptual offsets, ``5`` / ``6`` the
    REL / IS-and-OS listener pools and their ratings, ``7`` anchors.
    """
    return np.random.default_rng([int(seed), *key])


def world_key(seed: int = 0, **params: Any) -> str:
    """A 16-hex key for (generator version, seed, full parameter set)."""
    p = validated_params(params)
    blob = json.dumps(
        {"version": GENERATOR_VERSION, "seed": int(seed), "params": p}, sort_keys=True
    )
    return sha256_bytes(blob.encode())[:16]
