"""Signal-processing building blocks of the synthetic world's sound events.

Envelopes, band-limited harmonic stacks with pitch contours, Butterworth bands (cached designs),
resonators and formant banks, slow random curves, pink noise, impulse trains and a mixer.
:mod:`humanclap.data.synthetic.sounds` builds the 21 event classes from them. All return float64
arrays; callers normalise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from scipy import signal

__all__ = [
    "band",
    "envelope",
    "fade",
    "formants",
    "hann_envelope",
    "harmonic",
    "impulses",
    "pink",
    "place",
    "resonator",
    "smooth_noise",
    "times",
]


def times(n: int, sr: int) -> np.ndarray:
    """Sample times in seconds, shape (n,)."""
    return np.arange(n) / sr


def envelope(n: int, sr: int, attack: float, decay: float) -> np.ndarray:
    """Linear attack (seconds) then exponential decay with time constant ``decay``."""
    t = times(n, sr)
    a = np.clip(t / max(attack, 1e-4), 0.0, 1.0)
    return a * np.exp(-np.maximum(t - attack, 0.0) / decay)


def hann_envelope(n: int, power: float = 1.0) -> np.ndarray:
    """Half-sine window raised to ``power``, shape (n,)."""
    return np.sin(np.pi * (np.arange(n) + 0.5) / n) ** power


def fade(x: np.ndarray, sr: int, seconds: float = 0.01) -> np.ndarray:
    """Linear fade-in and fade-out of ``seconds`` on ``x`` (shape (n,)), in place; returns ``x``."""
    m = min(len(x) // 2, int(seconds * sr))
    if m > 0:
        ramp = np.linspace(0.0, 1.0, m)
        x[:m] *= ramp
        x[-m:] *= ramp[::-1]
    return x


def harmonic(f0: np.ndarray, sr: int, n_harm: int, rolloff: float = 1.0) -> np.ndarray:
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


def band(x: np.ndarray, sr: int, lo: float | None, hi: float | None, order: int = 2) -> np.ndarray:
    """Butterworth band/low/high-pass (``lo``/``hi`` in Hz, None = open).

    Edges are rounded to 1 % steps so that filter designs can be cached.
    """
    if lo is None and hi is None:
        return x

    def q(f: float | None) -> float | None:
        return None if f is None else float(np.exp(np.round(np.log(f) * 100) / 100))

    return signal.sosfilt(_design(order, q(lo), q(hi), sr), x)


def resonator(x: np.ndarray, sr: int, f0: float, bw: float) -> np.ndarray:
    """Two-pole band-pass (RBJ cookbook, 0 dB peak) centred on ``f0`` Hz, bandwidth ``bw`` Hz."""
    f0 = min(max(f0, 30.0), 0.45 * sr)
    w0 = 2 * np.pi * f0 / sr
    alpha = np.sin(w0) * max(bw, 10.0) / (2 * f0)
    a0 = 1 + alpha
    return signal.lfilter(
        [alpha / a0, 0.0, -alpha / a0], [1.0, -2 * np.cos(w0) / a0, (1 - alpha) / a0], x
    )


def formants(
    x: np.ndarray,
    sr: int,
    freqs: Sequence[float],
    bws: Sequence[float],
    gains: Sequence[float] | None = None,
) -> np.ndarray:
    """Parallel resonators: sum of band-passes centred on ``freqs`` with bandwidths ``bws``."""
    gains = gains if gains is not None else [1.0] * len(freqs)
    out = np.zeros_like(x)
    for f, bw, g in zip(freqs, bws, gains, strict=True):
        out += g * resonator(x, sr, f, bw)
    return out


def smooth_noise(rng: np.random.Generator, n: int, sr: int, rate_hz: float) -> np.ndarray:
    """Slowly varying random curve with zero mean and unit-ish std (bandwidth ``rate_hz``)."""
    m = max(int(n * rate_hz / sr) + 3, 4)
    knots = rng.standard_normal(m)
    return np.interp(np.linspace(0, m - 1, n), np.arange(m), knots)


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pink-ish noise (white noise through a 3-pole filter), shape (n,)."""
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    return signal.lfilter(b, a, rng.standard_normal(n))


def place(
    n: int, starts: Iterable[float], unit: np.ndarray, out: np.ndarray, gain: float = 1.0
) -> None:
    """Add ``gain * unit`` into ``out`` (shape (n,)) at each start sample, cut at the end."""
    for s in starts:
        s = int(s)
        if s >= n:
            continue
        m = min(len(unit), n - s)
        out[s : s + m] += gain * unit[:m]


def impulses(rng: np.random.Generator, n: int, sr: int, rate: float) -> np.ndarray:
    """Sparse train of random-amplitude impulses, Poisson with ``rate`` per second."""
    k = rng.poisson(rate * n / sr)
    x = np.zeros(n)
    idx = rng.integers(0, n, size=k)
    np.add.at(x, idx, rng.uniform(0.2, 1.0, size=k) * rng.choice([-1.0, 1.0], size=k))
    return x
