"""The sounds of the synthetic world's 21 event classes, built from
:mod:`humanclap.data.synthetic.dsp`.

Each function renders one *unit* of its class: ``unit(rng, n, sr, pitch) -> (n,) float64``,
where ``rng`` is a ``numpy.random.Generator`` (the instance's variation), ``n`` the number of
samples, ``sr`` the sample rate (Hz) and ``pitch`` a pitch multiplier (1 = the class's typical
pitch). A unit is one bark, ring or strike for countable classes, the whole span for continuous
ones. Nothing here models a real recording; the classes only have to be distinguishable from
each other and vary from instance to instance.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from humanclap.data.synthetic.dsp import (
    band,
    envelope,
    fade,
    formants,
    hann_envelope,
    harmonic,
    impulses,
    pink,
    place,
    smooth_noise,
    times,
)

__all__ = [
    "beep",
    "bird_chirp",
    "car_engine",
    "cat_meow",
    "clock_tick",
    "cow_moo",
    "dog_bark",
    "doorbell",
    "drum",
    "footsteps",
    "guitar",
    "hammer",
    "laughter",
    "piano",
    "rain",
    "siren",
    "speech",
    "static",
    "thunder",
    "water_stream",
    "wind",
]


def dog_bark(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """One bark: a falling harmonic stack with noise through two formants."""
    t = times(n, sr)
    dur = n / sr
    f0 = pitch * rng.uniform(380, 560) * (1.0 - 0.35 * t / dur)
    x = harmonic(f0, sr, 14, rolloff=0.8) + 0.35 * rng.standard_normal(n)
    x = formants(x, sr, [rng.uniform(800, 1100), rng.uniform(1900, 2600)], [500, 800], [1, 0.6])
    return x * envelope(n, sr, 0.012, 0.35 * dur)


def cat_meow(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """One meow: a rising-falling harmonic stack gliding from "ee" to "ow" formants."""
    t = times(n, sr)
    dur = n / sr
    u = t / dur
    f0 = pitch * rng.uniform(430, 560) * (1.0 + 0.55 * np.sin(np.pi * u) ** 2 - 0.15 * u)
    x = harmonic(f0, sr, 12, rolloff=1.1)
    ee = formants(x, sr, [500, 2500], [200, 400])
    ow = formants(x, sr, [750, 1100], [250, 300])
    return (np.clip(1.4 * u, 0, 1) * ow + np.clip(1 - 1.4 * u, 0, 1) * ee) * hann_envelope(n, 0.6)


def bird_chirp(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
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
        s = (np.sin(ph) + 0.15 * np.sin(2 * ph)) * hann_envelope(syl)
        place(n, [i * syl * 1.6], s * (1 - 0.15 * i), out)
    return out


def cow_moo(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """One moo: a low harmonic stack moving from "m" to "oo" formants."""
    t = times(n, sr)
    u = t / (n / sr)
    f0 = pitch * rng.uniform(95, 135) * (1 + 0.25 * np.sin(np.pi * u) - 0.1 * u)
    x = harmonic(f0, sr, 30, rolloff=1.0)
    m = formants(x, sr, [280, 900], [150, 300], [1.0, 0.2])
    oo = formants(x, sr, [600, 1000], [250, 300], [1.0, 0.6])
    w = np.clip((u - 0.15) * 3, 0, 1)
    return ((1 - w) * m + w * oo) * np.clip(u / 0.12, 0, 1) * np.clip((1 - u) / 0.25, 0, 1)


_VOWELS = np.array(
    [[300, 2300], [400, 2000], [530, 1850], [660, 1700], [730, 1100], [570, 850], [440, 1000]]
)


def speech(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
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
            fr = band(rng.standard_normal(m // 2), sr, 3500, 7000) * hann_envelope(m // 2) * 0.5
            place(n, [pos], fr, out)
            pos += m // 2
        decl = 1.0 - 0.15 * pos / n
        f0 = f_base * decl * (1 + 0.12 * np.sin(np.linspace(0, rng.uniform(1, 3), m)))
        v = _VOWELS[rng.integers(len(_VOWELS))] * (1 + 0.12 * (pitch - 1))
        syl = formants(harmonic(f0, sr, 25, 0.9), sr, v, [120, 200], [1.0, 0.6])
        place(n, [pos], syl * hann_envelope(m, 0.8) * rng.uniform(0.6, 1.0), out)
        pos += m + int(rng.uniform(0.0, 0.05) * sr)
        i += 1
    return out


def laughter(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """One laughing bout: 'ha' syllables at about 5 Hz, breathy, decaying."""
    out = np.zeros(n)
    rate = rng.uniform(4.0, 6.0)
    period = int(sr / rate)
    k = max(n // period, 1)
    f0 = pitch * rng.uniform(220, 320)
    for i in range(k):
        m = int(period * rng.uniform(0.55, 0.75))
        f = f0 * (1 - 0.04 * i) * np.linspace(1.08, 0.95, m)
        v = harmonic(f, sr, 15, 1.0) + 0.8 * rng.standard_normal(m)
        v = formants(v, sr, [800, 1300], [300, 400])
        place(n, [i * period], v * envelope(m, sr, 0.01, m / sr / 3) * (0.95**i), out)
    return out


def footsteps(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """Alternating low thuds with a small click, about two steps per second."""
    out = np.zeros(n)
    period = rng.uniform(0.45, 0.62) * sr
    starts = np.arange(rng.uniform(0, 0.1) * sr, n, period)
    for j, s in enumerate(starts):
        m = int(0.09 * sr)
        thud = band(rng.standard_normal(m), sr, 60, 500 * pitch) * envelope(m, sr, 0.003, 0.025)
        c = int(0.015 * sr)
        click = band(rng.standard_normal(c), sr, 2000, 5000) * envelope(c, sr, 0.001, 0.004)
        place(n, [s], 2.5 * thud * (1.0 if j % 2 else 0.8), out)
        place(n, [s + rng.uniform(0.0, 0.02) * sr], 0.6 * click, out)
    return out


_PENTATONIC = np.array([0, 2, 4, 7, 9, 12, 14, 16])


def piano(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
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
        t = times(m, sr)
        note = np.zeros(m)
        for k in range(1, 9):
            fk = k * f0 * np.sqrt(1 + 0.0004 * k * k)
            if fk > 0.45 * sr:
                break
            note += np.sin(2 * np.pi * fk * t) * np.exp(-t * (2.0 + 1.2 * k)) / k**1.2
        note *= np.clip(t / 0.004, 0, 1)
        place(n, [pos], note, out)
        pos += ioi * rng.choice([1.0, 1.0, 2.0])
    return out


def drum(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """Kick on beats 1 and 3, snare on 2 and 4, at 90-130 bpm."""
    out = np.zeros(n)
    beat = 60.0 / rng.uniform(90, 130) * sr
    mk = int(0.25 * sr)
    tk = times(mk, sr)
    fk = 45 * pitch + 90 * pitch * np.exp(-tk / 0.04)
    kick = np.sin(2 * np.pi * np.cumsum(fk) / sr) * np.exp(-tk / 0.09)
    ms = int(0.18 * sr)
    ts = times(ms, sr)
    snare = band(rng.standard_normal(ms), sr, 1200, 6000) * np.exp(-ts / 0.05) + 0.5 * np.sin(
        2 * np.pi * 190 * pitch * ts
    ) * np.exp(-ts / 0.04)
    for j, s in enumerate(np.arange(0, n, beat)):
        place(n, [s], kick if j % 2 == 0 else 0.8 * snare, out)
    return out


def guitar(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
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
        place(n, [s], signal.lfilter([1.0], a, exc), out)
    return out


def rain(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """Hiss with resonant drops."""
    hiss = band(rng.standard_normal(n), sr, 900, 7000) * 0.35
    drops = np.zeros(n)
    for f in (2500.0, 3500.0, 4700.0):
        r = np.exp(-1.0 / (0.004 * sr))
        w = 2 * np.pi * f * pitch / sr
        drops += signal.lfilter([1.0], [1.0, -2 * r * np.cos(w), r * r], impulses(rng, n, sr, 40))
    drops /= np.max(np.abs(drops)) + 1e-9
    return hiss * (1 + 0.2 * smooth_noise(rng, n, sr, 2.0)) + 0.8 * drops


def wind(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """Gusting low pink noise with a faint whistle."""
    gust = np.exp(0.9 * smooth_noise(rng, n, sr, 0.8))
    body = band(pink(rng, n), sr, 80, 700 * pitch, order=2)
    body /= np.std(body) + 1e-9
    whistle = band(rng.standard_normal(n), sr, 520 * pitch, 620 * pitch, order=2)
    whistle /= np.std(whistle) + 1e-9
    return gust * (body + 0.25 * whistle * gust)


def thunder(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """A crack and a fluttering low rumble."""
    t = times(n, sr)
    dur = n / sr
    crack = band(rng.standard_normal(n), sr, 300, 5000) * np.exp(-t / 0.05) * 0.8
    rumble = band(rng.standard_normal(n), sr, 25, 180 * pitch, order=4)
    rumble /= np.std(rumble) + 1e-9
    flutter = np.exp(0.5 * smooth_noise(rng, n, sr, 6.0))
    env = np.clip(t / 0.08, 0, 1) * np.exp(-t / (0.45 * dur))
    return crack + rumble * env * flutter


def water_stream(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """Modulated band noise with rising bubbles."""
    babble = band(rng.standard_normal(n), sr, 350 * pitch, 2500 * pitch)
    babble *= 0.5 * np.exp(0.6 * smooth_noise(rng, n, sr, 12.0))
    bubbles = np.zeros(n)
    m = int(0.012 * sr)
    tb = times(m, sr)
    for s in rng.integers(0, n, size=rng.poisson(35 * n / sr)):
        f = rng.uniform(500, 1300) * pitch * (1 + 0.8 * tb / tb[-1])
        b = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-tb / 0.004)
        place(n, [s], b * rng.uniform(0.3, 1.0), bubbles)
    return babble + bubbles


def siren(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """A wail or a hi-lo siren: a few harmonics of a moving pitch."""
    t = times(n, sr)
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
    return harmonic(f, sr, 4, rolloff=1.5)


def car_engine(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """A low, rough engine hum with slowly varying rpm, low-passed."""
    rpm = 1 + 0.35 * np.tanh(smooth_noise(rng, n, sr, 0.7))
    f0 = pitch * rng.uniform(28, 45) * rpm
    x = harmonic(f0, sr, 40, rolloff=0.7)
    ph = 2 * np.pi * np.cumsum(f0 / 2) / sr
    x *= 1 + 0.4 * np.sin(ph)  # firing roughness
    x += 0.4 * band(rng.standard_normal(n), sr, 50, 900) * np.std(x)
    return band(x, sr, None, 2200, order=2)


def doorbell(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """Ding-dong: two bell tones with inharmonic partials."""
    out = np.zeros(n)
    notes = pitch * np.array([659.3, 523.3]) * rng.uniform(0.94, 1.06)
    gap = int(min(0.4 * sr, n / 2.2))
    for j, f in enumerate(notes):
        m = n - j * gap
        if m <= 0:
            break
        t = times(m, sr)
        tone = sum(
            a * np.sin(2 * np.pi * f * r * t) * np.exp(-t / d)
            for r, a, d in ((1.0, 1.0, 0.5), (2.76, 0.4, 0.25), (5.4, 0.2, 0.1))
        )
        place(n, [j * gap], tone * np.clip(t / 0.003, 0, 1), out)
    return out


def clock_tick(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """Alternating high "tick" and "tock" clicks, every 0.5 or 1 s."""
    out = np.zeros(n)
    period = sr * rng.choice([0.5, 1.0]) * rng.uniform(0.97, 1.03)
    m = int(0.012 * sr)
    for j, s in enumerate(np.arange(rng.uniform(0, 0.05) * sr, n, period)):
        f = (4200.0 if j % 2 else 3300.0) * pitch
        click = band(rng.standard_normal(m), sr, f * 0.8, f * 1.2) * envelope(m, sr, 0.0005, 0.002)
        place(n, [s], click, out)
    return out


def hammer(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """One strike: broadband transient, a metallic ring and a low thump."""
    t = times(n, sr)
    ring_f = pitch * rng.uniform(1500, 2800)
    ring = np.sin(2 * np.pi * ring_f * t) * np.exp(-t / 0.05)
    thump = np.sin(2 * np.pi * 110 * pitch * t) * np.exp(-t / 0.03)
    hit = rng.standard_normal(n) * np.exp(-t / 0.004)
    return 0.6 * ring + 0.7 * thump + hit


def beep(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """A sine beep with a little third harmonic."""
    t = times(n, sr)
    f = pitch * rng.uniform(850, 1200)
    return fade(np.sin(2 * np.pi * f * t) + 0.1 * np.sin(6 * np.pi * f * t), sr, 0.005)


def static(rng: np.random.Generator, n: int, sr: int, pitch: float) -> np.ndarray:
    """Band-limited hiss with crackles."""
    hiss = band(rng.standard_normal(n), sr, 1500, 7000) * 0.3
    hiss *= 1 + 0.5 * np.abs(smooth_noise(rng, n, sr, 20.0))
    crackle = band(impulses(rng, n, sr, 120), sr, 800, None)
    return hiss + 1.5 * crackle
