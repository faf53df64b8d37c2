"""Sound-event classes of the synthetic world: synthesis, caption phrasings, confusions.

Part of :mod:`humanclap.data.synthetic` (the simulated stand-in for RELATE). Every class is
synthesised with numpy/scipy from a recognisable spectral and temporal signature (harmonic
stacks with pitch contours, formant-filtered pulses, noise bands with envelopes, periodic
clicks, Karplus-Strong plucks...). Nothing here models a real recording; the classes only have
to be distinguishable from each other and to vary from instance to instance (pitch, duration,
loudness, number of repetitions).

Public objects
--------------
- :data:`EVENT_CLASSES` -- the classes, by name (21 classes over the 7 AudioSet top-level
  categories).
- :data:`CATEGORIES` / :data:`CATEGORY_ORDER` -- AudioSet top-level ids and names, in ontology
  order (the order the XACLE category table lists them in).
- :data:`CONFUSABLE` -- acoustically similar classes, used for the "substitute" failure.
- :func:`synth_event` -- render one event instance.
- :func:`phrase_event` -- a caption clause for one event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import signal

from humanclap.data.categories import CATEGORY_IDS

__all__ = [
    "CATEGORIES",
    "CATEGORY_ORDER",
    "CONFUSABLE",
    "EVENT_CLASSES",
    "EventClass",
    "Phrasing",
    "count_words",
    "phrase_event",
    "synth_event",
]

SAMPLE_RATE = 16000

# AudioSet ontology top-level categories, in ontology order (one table, in categories.py).
CATEGORIES: dict[str, str] = CATEGORY_IDS
CATEGORY_ORDER: tuple[str, ...] = tuple(CATEGORIES)

HUMAN, ANIMAL, MUSIC, NATURAL, THINGS, AMBIGUOUS, CHANNEL = CATEGORY_ORDER


@dataclass(frozen=True)
class Phrasing:
    """One way of naming an event in a caption.

    ``det`` is ``"a"`` for a singular countable noun (becomes "a"/"an" as needed) or ``""``
    (mass nouns, plurals, "someone"). ``finite`` is the verb phrase after the subject ("barks"),
    ``gerund`` its -ing form ("barking"). ``pitch`` scales the event's pitch (a woman's voice is
    higher than a man's).
    """

    det: str
    noun: str
    finite: str
    gerund: str
    pitch: float = 1.0


SynthFn = Callable[[np.random.Generator, int, int, float], np.ndarray]


@dataclass(frozen=True)
class EventClass:
    """A sound-event class.

    Attributes
    ----------
    name : str
        Identifier (``dog_bark``).
    category : str
        AudioSet top-level id (see :data:`CATEGORIES`).
    countable : bool
        Whether a caption may say how many times it occurs ("twice"); the synthesiser then
        renders exactly ``count`` units.
    unit_seconds : float
        Typical length of one unit (one bark) for countable classes, or the shortest span that
        is recognisable for continuous ones.
    unit : callable
        ``unit(rng, num_samples, sample_rate, pitch) -> (num_samples,) float`` renders one unit
        (countable) or the whole span (continuous).
    phrasings : tuple of Phrasing
        At least three ways to say it.
    adjectives : tuple of str
        Modifiers a caption may use: ``loud``, ``distant``, ``high-pitched``.
    """

    name: str
    category: str
    countable: bool
    unit_seconds: float
    unit: SynthFn = field(repr=False)
    phrasings: tuple[Phrasing, ...]
    adjectives: tuple[str, ...] = ("loud", "distant")


# --------------------------------------------------------------------------------------------
# Building blocks. All return float64 arrays; callers normalise.


def _t(n: int, sr: int) -> np.ndarray:
    return np.arange(n) / sr


def _env(n: int, sr: int, attack: float, decay: float) -> np.ndarray:
    """Linear attack (seconds) then exponential decay with time constant ``decay``."""
    t = _t(n, sr)
    a = np.clip(t / max(attack, 1e-4), 0.0, 1.0)
    return a * np.exp(-np.maximum(t - attack, 0.0) / decay)


def _hann_env(n: int, power: float = 1.0) -> np.ndarray:
    return np.sin(np.pi * (np.arange(n) + 0.5) / n) ** power


def _fade(x: np.ndarray, sr: int, seconds: float = 0.01) -> np.ndarray:
    m = min(len(x) // 2, int(seconds * sr))
    if m > 0:
        ramp = np.linspace(0.0, 1.0, m)
        x[:m] *= ramp
        x[-m:] *= ramp[::-1]
    return x


def _harmonic(f0: np.ndarray, sr: int, n_harm: int, rolloff: float = 1.0) -> np.ndarray:
    """Sum of harmonics k*f0 (k=1..n_harm) with amplitude k**-rolloff, aliasing-free.

    ``f0`` has shape (n,) in Hz (a contour).
    """
    phase = 2 * np.pi * np.cumsum(f0) / sr
    z = np.exp(1j * phase)
    zk = z.copy()  # e^{ik phase}, by repeated multiplication (cheaper than sin per harmonic)
    out = np.zeros_like(f0)
    f_max = float(np.max(f0)) if len(f0) else 0.0
    for k in range(1, n_harm + 1):
        if k * f_max < 0.45 * sr:
            out += zk.imag / k**rolloff
        else:
            mask = k * f0 < 0.45 * sr
            if not mask.any():
                break
            out += mask * zk.imag / k**rolloff
        zk *= z
    return out


@lru_cache(maxsize=4096)
def _design(order: int, lo: float | None, hi: float | None, sr: int) -> np.ndarray:
    """Butterworth second-order sections (``lo``/``hi`` in Hz, None = open)."""
    nyq = 0.5 * sr
    if lo is not None and hi is not None:
        lo, hi = max(lo, 20.0), min(hi, 0.95 * nyq)
        if hi <= lo * 1.05:
            hi = min(lo * 1.3, 0.95 * nyq)
        return signal.butter(order, [lo, hi], btype="bandpass", fs=sr, output="sos")
    if hi is not None:
        return signal.butter(order, min(hi, 0.95 * nyq), btype="lowpass", fs=sr, output="sos")
    return signal.butter(order, max(lo, 20.0), btype="highpass", fs=sr, output="sos")


def _band(x: np.ndarray, sr: int, lo: float | None, hi: float | None, order: int = 2):
    """Butterworth band/low/high-pass (``lo``/``hi`` in Hz, None = open).

    Edges are rounded to 1 % steps so that filter designs can be cached.
    """
    if lo is None and hi is None:
        return x

    def q(f):
        return None if f is None else float(np.exp(np.round(np.log(f) * 100) / 100))

    return signal.sosfilt(_design(order, q(lo), q(hi), sr), x)


def _resonator(x: np.ndarray, sr: int, f0: float, bw: float) -> np.ndarray:
    """Two-pole band-pass (RBJ cookbook, 0 dB peak) centred on ``f0`` Hz, bandwidth ``bw`` Hz."""
    f0 = min(max(f0, 30.0), 0.45 * sr)
    w0 = 2 * np.pi * f0 / sr
    alpha = np.sin(w0) * max(bw, 10.0) / (2 * f0)
    a0 = 1 + alpha
    return signal.lfilter(
        [alpha / a0, 0.0, -alpha / a0], [1.0, -2 * np.cos(w0) / a0, (1 - alpha) / a0], x
    )


def _formants(x: np.ndarray, sr: int, freqs, bws, gains=None) -> np.ndarray:
    """Parallel resonators: sum of band-passes centred on ``freqs`` with bandwidths ``bws``."""
    gains = gains if gains is not None else [1.0] * len(freqs)
    out = np.zeros_like(x)
    for f, bw, g in zip(freqs, bws, gains, strict=True):
        out += g * _resonator(x, sr, f, bw)
    return out


def _smooth_noise(rng: np.random.Generator, n: int, sr: int, rate_hz: float) -> np.ndarray:
    """Slowly varying random curve with zero mean and unit-ish std (bandwidth ``rate_hz``)."""
    m = max(int(n * rate_hz / sr) + 3, 4)
    knots = rng.standard_normal(m)
    return np.interp(np.linspace(0, m - 1, n), np.arange(m), knots)


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    return signal.lfilter(b, a, rng.standard_normal(n))


def _place(n: int, starts, unit: np.ndarray, out: np.ndarray, gain: float = 1.0) -> None:
    for s in starts:
        s = int(s)
        if s >= n:
            continue
        m = min(len(unit), n - s)
        out[s : s + m] += gain * unit[:m]


def _impulses(rng: np.random.Generator, n: int, sr: int, rate: float) -> np.ndarray:
    """Sparse train of random-amplitude impulses, Poisson with ``rate`` per second."""
    k = rng.poisson(rate * n / sr)
    x = np.zeros(n)
    idx = rng.integers(0, n, size=k)
    np.add.at(x, idx, rng.uniform(0.2, 1.0, size=k) * rng.choice([-1.0, 1.0], size=k))
    return x


# --------------------------------------------------------------------------------------------
# Units. Signature: (rng, num_samples, sample_rate, pitch) -> (num_samples,) float.


def _dog_bark(rng, n, sr, pitch):
    t = _t(n, sr)
    dur = n / sr
    f0 = pitch * rng.uniform(380, 560) * (1.0 - 0.35 * t / dur)
    x = _harmonic(f0, sr, 14, rolloff=0.8) + 0.35 * rng.standard_normal(n)
    x = _formants(x, sr, [rng.uniform(800, 1100), rng.uniform(1900, 2600)], [500, 800], [1, 0.6])
    return x * _env(n, sr, 0.012, 0.35 * dur)


def _cat_meow(rng, n, sr, pitch):
    t = _t(n, sr)
    dur = n / sr
    u = t / dur
    f0 = pitch * rng.uniform(430, 560) * (1.0 + 0.55 * np.sin(np.pi * u) ** 2 - 0.15 * u)
    x = _harmonic(f0, sr, 12, rolloff=1.1)
    ee = _formants(x, sr, [500, 2500], [200, 400])
    ow = _formants(x, sr, [750, 1100], [250, 300])
    return (np.clip(1.4 * u, 0, 1) * ow + np.clip(1 - 1.4 * u, 0, 1) * ee) * _hann_env(n, 0.6)


def _bird_chirp(rng, n, sr, pitch):
    """A group of 2-4 rapid frequency-swept chirp syllables."""
    out = np.zeros(n)
    k = int(rng.integers(2, 5))
    syl = max(int(n / (k * 1.6)), 8)
    f_lo = pitch * rng.uniform(2300, 3200)
    up = rng.random() < 0.6
    for i in range(k):
        sweep = np.linspace(0, 1, syl) if up else np.linspace(1, 0, syl)
        f = f_lo * (1 + 0.7 * sweep)
        ph = 2 * np.pi * np.cumsum(f) / sr
        s = (np.sin(ph) + 0.15 * np.sin(2 * ph)) * _hann_env(syl)
        _place(n, [i * syl * 1.6], s * (1 - 0.15 * i), out)
    return out


def _cow_moo(rng, n, sr, pitch):
    t = _t(n, sr)
    u = t / (n / sr)
    f0 = pitch * rng.uniform(95, 135) * (1 + 0.25 * np.sin(np.pi * u) - 0.1 * u)
    x = _harmonic(f0, sr, 30, rolloff=1.0)
    m = _formants(x, sr, [280, 900], [150, 300], [1.0, 0.2])
    oo = _formants(x, sr, [600, 1000], [250, 300], [1.0, 0.6])
    w = np.clip((u - 0.15) * 3, 0, 1)
    return ((1 - w) * m + w * oo) * np.clip(u / 0.12, 0, 1) * np.clip((1 - u) / 0.25, 0, 1)


_VOWELS = np.array(
    [[300, 2300], [400, 2000], [530, 1850], [660, 1700], [730, 1100], [570, 850], [440, 1000]]
)


def _speech(rng, n, sr, pitch):
    """Babble of syllables: voiced formant-filtered harmonics, fricatives and pauses."""
    out = np.zeros(n)
    f_base = pitch * rng.uniform(105, 130)
    pos = int(rng.uniform(0.0, 0.05) * sr)
    i = 0
    while pos < n:
        if rng.random() < 0.12 and i > 0:  # pause between words
            pos += int(rng.uniform(0.08, 0.2) * sr)
            continue
        m = int(rng.uniform(0.1, 0.24) * sr)
        if rng.random() < 0.2:  # fricative
            fr = _band(rng.standard_normal(m // 2), sr, 3500, 7000) * _hann_env(m // 2) * 0.5
            _place(n, [pos], fr, out)
            pos += m // 2
        decl = 1.0 - 0.15 * pos / n
        f0 = f_base * decl * (1 + 0.12 * np.sin(np.linspace(0, rng.uniform(1, 3), m)))
        v = _VOWELS[rng.integers(len(_VOWELS))] * (1 + 0.12 * (pitch - 1))
        syl = _formants(_harmonic(f0, sr, 25, 0.9), sr, v, [120, 200], [1.0, 0.6])
        _place(n, [pos], syl * _hann_env(m, 0.8) * rng.uniform(0.6, 1.0), out)
        pos += m + int(rng.uniform(0.0, 0.05) * sr)
        i += 1
    return out


def _laughter(rng, n, sr, pitch):
    """One laughing bout: 'ha' syllables at about 5 Hz, breathy, decaying."""
    out = np.zeros(n)
    rate = rng.uniform(4.0, 6.0)
    period = int(sr / rate)
    k = max(n // period, 1)
    f0 = pitch * rng.uniform(220, 320)
    for i in range(k):
        m = int(period * rng.uniform(0.55, 0.75))
        f = f0 * (1 - 0.04 * i) * np.linspace(1.08, 0.95, m)
        v = _harmonic(f, sr, 15, 1.0) + 0.8 * rng.standard_normal(m)
        v = _formants(v, sr, [800, 1300], [300, 400])
        _place(n, [i * period], v * _env(m, sr, 0.01, m / sr / 3) * (0.95**i), out)
    return out


def _footsteps(rng, n, sr, pitch):
    out = np.zeros(n)
    period = rng.uniform(0.45, 0.62) * sr
    starts = np.arange(rng.uniform(0, 0.1) * sr, n, period)
    for j, s in enumerate(starts):
        m = int(0.09 * sr)
        thud = _band(rng.standard_normal(m), sr, 60, 500 * pitch) * _env(m, sr, 0.003, 0.025)
        c = int(0.015 * sr)
        click = _band(rng.standard_normal(c), sr, 2000, 5000) * _env(c, sr, 0.001, 0.004)
        _place(n, [s], 2.5 * thud * (1.0 if j % 2 else 0.8), out)
        _place(n, [s + rng.uniform(0.0, 0.02) * sr], 0.6 * click, out)
    return out


_PENTATONIC = np.array([0, 2, 4, 7, 9, 12, 14, 16])


def _piano(rng, n, sr, pitch):
    """A melody of decaying slightly inharmonic notes."""
    out = np.zeros(n)
    base = 261.6 * pitch * 2 ** (rng.integers(-3, 4) / 12)
    ioi = rng.uniform(0.22, 0.45) * sr
    pos = 0.0
    deg = int(rng.integers(0, 4))
    while pos < n:
        deg = int(np.clip(deg + rng.integers(-2, 3), 0, len(_PENTATONIC) - 1))
        f0 = base * 2 ** (_PENTATONIC[deg] / 12)
        m = min(int(1.2 * sr), n - int(pos))
        if m < 16:
            break
        t = _t(m, sr)
        note = np.zeros(m)
        for k in range(1, 9):
            fk = k * f0 * np.sqrt(1 + 0.0004 * k * k)
            if fk > 0.45 * sr:
                break
            note += np.sin(2 * np.pi * fk * t) * np.exp(-t * (2.0 + 1.2 * k)) / k**1.2
        note *= np.clip(t / 0.004, 0, 1)
        _place(n, [pos], note, out)
        pos += ioi * rng.choice([1.0, 1.0, 2.0])
    return out


def _drum(rng, n, sr, pitch):
    """Kick on beats 1 and 3, snare on 2 and 4, at 90-130 bpm."""
    out = np.zeros(n)
    beat = 60.0 / rng.uniform(90, 130) * sr
    mk = int(0.25 * sr)
    tk = _t(mk, sr)
    fk = 45 * pitch + 90 * pitch * np.exp(-tk / 0.04)
    kick = np.sin(2 * np.pi * np.cumsum(fk) / sr) * np.exp(-tk / 0.09)
    ms = int(0.18 * sr)
    ts = _t(ms, sr)
    snare = _band(rng.standard_normal(ms), sr, 1200, 6000) * np.exp(-ts / 0.05) + 0.5 * np.sin(
        2 * np.pi * 190 * pitch * ts
    ) * np.exp(-ts / 0.04)
    for j, s in enumerate(np.arange(0, n, beat)):
        _place(n, [s], kick if j % 2 == 0 else 0.8 * snare, out)
    return out


def _guitar(rng, n, sr, pitch):
    """Karplus-Strong plucks arpeggiating a chord."""
    out = np.zeros(n)
    root = 196.0 * pitch * 2 ** (rng.integers(-2, 5) / 12)
    chord = root * 2 ** (np.array([0, 4, 7, 12, 7, 4]) / 12)
    ioi = rng.uniform(0.18, 0.32) * sr
    for j, s in enumerate(np.arange(0, n, ioi)):
        f0 = chord[j % len(chord)]
        period = max(int(round(sr / f0)), 2)
        m = min(int(0.9 * sr), n - int(s))
        if m <= period:
            break
        exc = np.zeros(m)
        exc[:period] = rng.uniform(-1, 1, period)
        a = np.zeros(period + 2)
        a[0] = 1.0
        a[period] = a[period + 1] = -0.497
        _place(n, [s], signal.lfilter([1.0], a, exc), out)
    return out


def _rain(rng, n, sr, pitch):
    hiss = _band(rng.standard_normal(n), sr, 900, 7000) * 0.35
    drops = np.zeros(n)
    for f in (2500.0, 3500.0, 4700.0):
        r = np.exp(-1.0 / (0.004 * sr))
        w = 2 * np.pi * f * pitch / sr
        drops += signal.lfilter([1.0], [1.0, -2 * r * np.cos(w), r * r], _impulses(rng, n, sr, 40))
    drops /= np.max(np.abs(drops)) + 1e-9
    return hiss * (1 + 0.2 * _smooth_noise(rng, n, sr, 2.0)) + 0.8 * drops


def _wind(rng, n, sr, pitch):
    gust = np.exp(0.9 * _smooth_noise(rng, n, sr, 0.8))
    body = _band(_pink(rng, n), sr, 80, 700 * pitch, order=2)
    body /= np.std(body) + 1e-9
    whistle = _band(rng.standard_normal(n), sr, 520 * pitch, 620 * pitch, order=2)
    whistle /= np.std(whistle) + 1e-9
    return gust * (body + 0.25 * whistle * gust)


def _thunder(rng, n, sr, pitch):
    t = _t(n, sr)
    dur = n / sr
    crack = _band(rng.standard_normal(n), sr, 300, 5000) * np.exp(-t / 0.05) * 0.8
    rumble = _band(rng.standard_normal(n), sr, 25, 180 * pitch, order=4)
    rumble /= np.std(rumble) + 1e-9
    flutter = np.exp(0.5 * _smooth_noise(rng, n, sr, 6.0))
    env = np.clip(t / 0.08, 0, 1) * np.exp(-t / (0.45 * dur))
    return crack + rumble * env * flutter


def _water_stream(rng, n, sr, pitch):
    babble = _band(rng.standard_normal(n), sr, 350 * pitch, 2500 * pitch)
    babble *= 0.5 * np.exp(0.6 * _smooth_noise(rng, n, sr, 12.0))
    bubbles = np.zeros(n)
    m = int(0.012 * sr)
    tb = _t(m, sr)
    for s in rng.integers(0, n, size=rng.poisson(35 * n / sr)):
        f = rng.uniform(500, 1300) * pitch * (1 + 0.8 * tb / tb[-1])
        b = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-tb / 0.004)
        _place(n, [s], b * rng.uniform(0.3, 1.0), bubbles)
    return babble + bubbles


def _siren(rng, n, sr, pitch):
    t = _t(n, sr)
    if rng.random() < 0.6:  # wail
        f = pitch * (
            rng.uniform(700, 850)
            + rng.uniform(300, 450)
            * np.sin(2 * np.pi * rng.uniform(0.3, 0.6) * t + rng.uniform(0, 2 * np.pi))
        )
    else:  # hi-lo
        hi = np.sign(np.sin(2 * np.pi * rng.uniform(0.8, 1.3) * t)) > 0
        f = pitch * np.where(hi, 960.0, 720.0)
        f = signal.lfilter([0.02], [1, -0.98], f - f[0]) + f[0]
    return _harmonic(f, sr, 4, rolloff=1.5)


def _car_engine(rng, n, sr, pitch):
    rpm = 1 + 0.35 * np.tanh(_smooth_noise(rng, n, sr, 0.7))
    f0 = pitch * rng.uniform(28, 45) * rpm
    x = _harmonic(f0, sr, 40, rolloff=0.7)
    ph = 2 * np.pi * np.cumsum(f0 / 2) / sr
    x *= 1 + 0.4 * np.sin(ph)  # firing roughness
    x += 0.4 * _band(rng.standard_normal(n), sr, 50, 900) * np.std(x)
    return _band(x, sr, None, 2200, order=2)


def _doorbell(rng, n, sr, pitch):
    """Ding-dong: two bell tones with inharmonic partials."""
    out = np.zeros(n)
    notes = pitch * np.array([659.3, 523.3]) * rng.uniform(0.94, 1.06)
    gap = int(min(0.4 * sr, n / 2.2))
    for j, f in enumerate(notes):
        m = n - j * gap
        if m <= 0:
            break
        t = _t(m, sr)
        tone = sum(
            a * np.sin(2 * np.pi * f * r * t) * np.exp(-t / d)
            for r, a, d in ((1.0, 1.0, 0.5), (2.76, 0.4, 0.25), (5.4, 0.2, 0.1))
        )
        _place(n, [j * gap], tone * np.clip(t / 0.003, 0, 1), out)
    return out


def _clock_tick(rng, n, sr, pitch):
    out = np.zeros(n)
    period = sr * rng.choice([0.5, 1.0]) * rng.uniform(0.97, 1.03)
    m = int(0.012 * sr)
    for j, s in enumerate(np.arange(rng.uniform(0, 0.05) * sr, n, period)):
        f = (4200.0 if j % 2 else 3300.0) * pitch
        click = _band(rng.standard_normal(m), sr, f * 0.8, f * 1.2) * _env(m, sr, 0.0005, 0.002)
        _place(n, [s], click, out)
    return out


def _hammer(rng, n, sr, pitch):
    """One strike: broadband transient, a metallic ring and a low thump."""
    t = _t(n, sr)
    ring_f = pitch * rng.uniform(1500, 2800)
    ring = np.sin(2 * np.pi * ring_f * t) * np.exp(-t / 0.05)
    thump = np.sin(2 * np.pi * 110 * pitch * t) * np.exp(-t / 0.03)
    hit = rng.standard_normal(n) * np.exp(-t / 0.004)
    return 0.6 * ring + 0.7 * thump + hit


def _beep(rng, n, sr, pitch):
    t = _t(n, sr)
    f = pitch * rng.uniform(850, 1200)
    return _fade(np.sin(2 * np.pi * f * t) + 0.1 * np.sin(6 * np.pi * f * t), sr, 0.005)


def _static(rng, n, sr, pitch):
    hiss = _band(rng.standard_normal(n), sr, 1500, 7000) * 0.3
    hiss *= 1 + 0.5 * np.abs(_smooth_noise(rng, n, sr, 20.0))
    crackle = _band(_impulses(rng, n, sr, 120), sr, 800, None)
    return hiss + 1.5 * crackle


# --------------------------------------------------------------------------------------------
# The classes.


def _p(det, noun, finite, gerund, pitch=1.0) -> Phrasing:
    return Phrasing(det, noun, finite, gerund, pitch)


_ALL_ADJ = ("loud", "distant", "high-pitched")

EVENT_CLASSES: dict[str, EventClass] = {
    c.name: c
    for c in [
        EventClass(
            "dog_bark",
            ANIMAL,
            True,
            0.22,
            _dog_bark,
            (
                _p("a", "dog", "barks", "barking"),
                _p("a", "dog", "yaps", "yapping", 1.2),
                _p("a", "puppy", "barks", "barking", 1.3),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "cat_meow",
            ANIMAL,
            True,
            0.7,
            _cat_meow,
            (
                _p("a", "cat", "meows", "meowing"),
                _p("a", "cat", "mews", "mewing"),
                _p("a", "kitten", "meows", "meowing", 1.25),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "bird_chirp",
            ANIMAL,
            True,
            0.35,
            _bird_chirp,
            (
                _p("a", "bird", "chirps", "chirping"),
                _p("", "birds", "chirp", "chirping"),
                _p("a", "bird", "tweets", "tweeting", 1.1),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "cow_moo",
            ANIMAL,
            True,
            1.2,
            _cow_moo,
            (
                _p("a", "cow", "moos", "mooing"),
                _p("a", "cow", "lows", "lowing"),
                _p("", "cattle", "moo", "mooing"),
            ),
        ),
        EventClass(
            "speech",
            HUMAN,
            False,
            1.0,
            _speech,
            (
                _p("a", "man", "speaks", "speaking"),
                _p("a", "woman", "speaks", "speaking", 1.8),
                _p("a", "man", "talks", "talking"),
                _p("a", "woman", "talks", "talking", 1.8),
                _p("a", "child", "speaks", "speaking", 2.3),
            ),
        ),
        EventClass(
            "laughter",
            HUMAN,
            True,
            0.8,
            _laughter,
            (
                _p("a", "person", "laughs", "laughing"),
                _p("a", "woman", "laughs", "laughing", 1.5),
                _p("a", "man", "laughs", "laughing", 0.8),
            ),
        ),
        EventClass(
            "footsteps",
            HUMAN,
            False,
            1.2,
            _footsteps,
            (
                _p("a", "person", "walks", "walking"),
                _p("", "footsteps", "tap", "tapping"),
                _p("", "someone", "walks", "walking"),
            ),
        ),
        EventClass(
            "piano",
            MUSIC,
            False,
            1.0,
            _piano,
            (
                _p("a", "piano", "plays", "playing"),
                _p("", "someone", "plays the piano", "playing the piano"),
                _p("", "piano music", "plays", "playing"),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "drum",
            MUSIC,
            False,
            1.2,
            _drum,
            (
                _p("", "drums", "play", "playing"),
                _p("a", "drummer", "plays", "playing"),
                _p("", "someone", "plays drums", "playing drums"),
            ),
        ),
        EventClass(
            "guitar",
            MUSIC,
            False,
            1.0,
            _guitar,
            (
                _p("a", "guitar", "strums", "strumming"),
                _p("", "someone", "plays a guitar", "playing a guitar"),
                _p("a", "guitar", "is plucked", "being plucked"),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "rain",
            NATURAL,
            False,
            1.0,
            _rain,
            (
                _p("", "rain", "falls", "falling"),
                _p("", "rain", "pours", "pouring"),
                _p("", "rain", "patters", "pattering"),
            ),
        ),
        EventClass(
            "wind",
            NATURAL,
            False,
            1.2,
            _wind,
            (
                _p("", "wind", "blows", "blowing"),
                _p("", "wind", "howls", "howling"),
                _p("", "wind", "gusts", "gusting"),
            ),
        ),
        EventClass(
            "thunder",
            NATURAL,
            True,
            1.6,
            _thunder,
            (
                _p("", "thunder", "rumbles", "rumbling"),
                _p("", "thunder", "roars", "roaring"),
                _p("", "thunder", "cracks", "cracking"),
            ),
        ),
        EventClass(
            "water_stream",
            NATURAL,
            False,
            1.0,
            _water_stream,
            (
                _p("a", "stream", "trickles", "trickling"),
                _p("", "water", "flows", "flowing"),
                _p("a", "brook", "babbles", "babbling"),
            ),
        ),
        EventClass(
            "siren",
            THINGS,
            False,
            1.5,
            _siren,
            (
                _p("a", "siren", "wails", "wailing"),
                _p("a", "siren", "blares", "blaring"),
                _p("an", "emergency siren", "sounds", "sounding"),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "car_engine",
            THINGS,
            False,
            1.2,
            _car_engine,
            (
                _p("an", "engine", "idles", "idling"),
                _p("a", "car engine", "runs", "running"),
                _p("a", "vehicle engine", "revs", "revving"),
                _p("an", "engine", "hums", "humming"),
            ),
        ),
        EventClass(
            "doorbell",
            THINGS,
            True,
            0.9,
            _doorbell,
            (
                _p("a", "doorbell", "rings", "ringing"),
                _p("a", "doorbell", "chimes", "chiming"),
                _p("a", "bell", "dings", "dinging"),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "clock_tick",
            THINGS,
            False,
            1.5,
            _clock_tick,
            (
                _p("a", "clock", "ticks", "ticking"),
                _p("a", "wall clock", "ticks", "ticking"),
                _p("a", "timer", "ticks", "ticking"),
            ),
        ),
        EventClass(
            "hammer",
            THINGS,
            True,
            0.25,
            _hammer,
            (
                _p("a", "hammer", "bangs", "banging"),
                _p("", "someone", "hammers", "hammering"),
                _p("a", "hammer", "hits a nail", "hitting a nail"),
            ),
        ),
        EventClass(
            "beep",
            AMBIGUOUS,
            True,
            0.25,
            _beep,
            (
                _p("a", "device", "beeps", "beeping"),
                _p("a", "machine", "beeps", "beeping"),
                _p("an", "electronic beep", "sounds", "sounding"),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "static",
            CHANNEL,
            False,
            1.0,
            _static,
            (
                _p("", "static", "crackles", "crackling"),
                _p("", "radio static", "hisses", "hissing"),
                _p("", "static noise", "buzzes", "buzzing"),
            ),
        ),
    ]
}

# Acoustically similar pairs, by construction of the synthesisers above (same kind of
# signature: short voiced bursts, periodic clicks, decaying harmonic tones, noise textures...).
_CONFUSION_PAIRS = [
    ("dog_bark", "laughter"),
    ("speech", "laughter"),
    ("cat_meow", "cow_moo"),
    ("bird_chirp", "beep"),
    ("siren", "beep"),
    ("footsteps", "clock_tick"),
    ("hammer", "clock_tick"),
    ("drum", "hammer"),
    ("piano", "guitar"),
    ("piano", "doorbell"),
    ("rain", "static"),
    ("rain", "water_stream"),
    ("wind", "water_stream"),
    ("wind", "car_engine"),
    ("thunder", "car_engine"),
    ("thunder", "drum"),
]


def _build_confusable() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {name: [] for name in EVENT_CLASSES}
    for a, b in _CONFUSION_PAIRS:
        out[a].append(b)
        out[b].append(a)
    return {k: tuple(sorted(v)) for k, v in out.items()}


#: For each class, the classes a simulated system may render instead (symmetric relation).
CONFUSABLE: dict[str, tuple[str, ...]] = _build_confusable()


# --------------------------------------------------------------------------------------------
# Rendering one event.


def synth_event(
    name: str,
    rng: np.random.Generator,
    num_samples: int,
    count: int = 1,
    pitch: float = 1.0,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Render one event instance filling ``num_samples`` samples.

    Parameters
    ----------
    name : str
        Class name, a key of :data:`EVENT_CLASSES`.
    rng : numpy.random.Generator
        Source of the instance's variation (timbre details, timing jitter).
    num_samples : int
        Length of the span the event occupies.
    count : int
        Number of units (barks, rings...) for countable classes; ignored otherwise.
    pitch : float
        Pitch multiplier (1 = the class's typical pitch).
    sample_rate : int
        Sampling rate in Hz.

    Returns
    -------
    numpy.ndarray
        Shape (num_samples,), float64, peak amplitude 1 (silence stays 0).
    """
    if name not in EVENT_CLASSES:
        raise KeyError(f"unknown event class {name!r}; known: {sorted(EVENT_CLASSES)}")
    if num_samples <= 0:
        raise ValueError(f"num_samples must be positive, got {num_samples}")
    cls = EVENT_CLASSES[name]
    n = int(num_samples)
    if cls.countable:
        count = max(int(count), 1)
        period = n / count
        unit_len = int(min(cls.unit_seconds * sample_rate * rng.uniform(0.85, 1.15), 0.85 * period))
        unit_len = max(unit_len, 32)
        out = np.zeros(n)
        for i in range(count):
            unit = cls.unit(rng, unit_len, sample_rate, pitch * rng.uniform(0.97, 1.03))
            jitter = rng.uniform(0.0, max(period - unit_len, 0.0) * 0.3)
            _place(n, [i * period + jitter], _fade(unit, sample_rate, 0.003), out)
    else:
        out = _fade(cls.unit(rng, n, sample_rate, pitch), sample_rate, 0.02)
    peak = float(np.max(np.abs(out)))
    return out / peak if peak > 0 else out


# --------------------------------------------------------------------------------------------
# Phrasing.


def count_words(count: int, rng: np.random.Generator | None = None) -> str:
    """Words for a number of repetitions: '' (1), 'twice', 'three times', 'several times'."""
    if count <= 1:
        return ""
    if count == 2:
        return "twice"
    if count == 3:
        return "three times"
    if rng is not None and rng.random() < 0.4:
        return "repeatedly"
    return "several times"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def phrase_event(
    phrasing: Phrasing, form: str, adjective: str | None = None, count_text: str = ""
) -> str:
    """A clause naming one event.

    Parameters
    ----------
    phrasing : Phrasing
        The wording.
    form : {"finite", "gerund"}
        "a dog barks" or "a dog barking".
    adjective : {None, "loud", "distant", "high-pitched"}
        ``loud`` adds "loudly" after the verb, ``distant`` adds "in the distance" at the end,
        ``high-pitched`` goes before the noun.
    count_text : str
        From :func:`count_words` ("twice").

    Returns
    -------
    str
        Lower-case clause, e.g. ``"a high-pitched dog barks twice in the distance"``.
    """
    if form not in ("finite", "gerund"):
        raise ValueError(f"form must be 'finite' or 'gerund', got {form!r}")
    noun = phrasing.noun
    if adjective == "high-pitched":
        noun = f"high-pitched {noun}"
    subject = f"{_article(noun)} {noun}" if phrasing.det else noun
    words = [subject, phrasing.finite if form == "finite" else phrasing.gerund]
    if adjective == "loud":
        words.append("loudly")
    if count_text:
        words.append(count_text)
    if adjective == "distant":
        words.append("in the distance")
    return " ".join(words)
