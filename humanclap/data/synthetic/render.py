"""Rendering of the synthetic world's audio: one event instance, a whole clip (mix, background,
degradations), and its WAV file.

A clip's events are synthesised (:func:`synth_event`), levelled, placed at their onsets, mixed
over a faint pink background, then degraded by the source's artefacts with severity
``1 - quality``: ``noise`` (an SNR falling with quality), ``bandlimit`` (a low-pass),
``smear`` (a diffuse tail), ``musical_noise`` (random STFT bins dropped) and ``clicks`` (clicks
and drop-outs).
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import signal

from humanclap.data.synthetic.dsp import fade, place
from humanclap.data.synthetic.events import EVENT_CLASSES
from humanclap.data.synthetic.failures import Clip, overlapping
from humanclap.data.synthetic.params import ARTEFACTS, SAMPLE_RATE

__all__ = ["active_level", "degrade", "distant", "render_clip", "synth_event", "write_wav"]


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
            place(n, [i * period + jitter], fade(unit, sample_rate, 0.003), out)
    else:
        out = fade(cls.unit(rng, n, sample_rate, pitch), sample_rate, 0.02)
    peak = float(np.max(np.abs(out)))
    return out / peak if peak > 0 else out


def active_level(x: np.ndarray, sr: int) -> float:
    """RMS over the 20-ms frames within 30 dB of the loudest frame."""
    hop = sr // 50
    m = len(x) // hop
    if m == 0:
        return float(np.sqrt(np.mean(x**2)) + 1e-12)
    e = np.mean(x[: m * hop].reshape(m, hop) ** 2, axis=1)
    active = e[e >= e.max() * 1e-3]
    return float(np.sqrt(active.mean()) + 1e-12)


def render_clip(
    clip: Clip, clip_seconds: float, rng: np.random.Generator, sr: int = SAMPLE_RATE
) -> np.ndarray:
    """Mix the clip's events, add background noise, apply degradations.

    Returns
    -------
    numpy.ndarray, shape (round(clip_seconds * sr),), int16
    """
    n = int(round(clip_seconds * sr))
    mix = np.zeros(n)
    for e in clip.events:
        i0, i1 = int(e.onset * sr), min(int(e.offset * sr), n)
        if i1 - i0 < 64:
            continue
        x = synth_event(e.cls, rng, i1 - i0, e.count, e.pitch * rng.uniform(0.92, 1.08), sr)
        x = x / active_level(x, sr) * 0.1
        gain_db = rng.normal(0.0, 2.0)
        if e.adjective == "loud":
            gain_db += 5.0
        if e.adjective == "distant":
            x = distant(x, rng, sr)
            gain_db -= 9.0
        if e.caption_pos is None:  # unmentioned: a background sound
            gain_db -= 10.0
        elif overlapping(clip, e):
            gain_db -= 4.0
        mix[i0:i1] += x * 10 ** (gain_db / 20)
    bg = signal.lfilter(
        [0.049922035, -0.095993537, 0.050612699, -0.004408786],
        [1.0, -2.494956002, 2.017265875, -0.522189400],
        rng.standard_normal(n),
    )
    mix += bg / (np.std(bg) + 1e-12) * 0.002
    mix *= 0.7 / (np.max(np.abs(mix)) + 1e-12)
    mix = degrade(mix, clip.quality, clip.artefacts, rng, sr)
    peak = np.max(np.abs(mix))
    if peak > 0.95:
        mix *= 0.95 / peak
    return np.round(mix * 32767).astype(np.int16)


def distant(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """``x`` (shape (n,)) heard from afar: low-passed, with a short diffuse tail."""
    sos = signal.butter(4, 1800, btype="lowpass", fs=sr, output="sos")
    dry = signal.sosfilt(sos, x)
    m = int(0.25 * sr)
    tail = rng.standard_normal(m) * np.exp(-np.arange(m) / (0.07 * sr))
    wet = signal.fftconvolve(dry, tail)[: len(x)]
    wet *= np.std(dry) / (np.std(wet) + 1e-12)
    return 0.6 * dry + 0.6 * wet


def degrade(
    x: np.ndarray,
    quality: float,
    artefacts: Sequence[str],
    rng: np.random.Generator,
    sr: int,
) -> np.ndarray:
    """Apply each artefact kind (:data:`~humanclap.data.synthetic.params.ARTEFACTS`) with
    severity ``1 - quality`` to ``x``, shape (n,); returns shape (n,)."""
    sev = 1.0 - quality
    n = len(x)
    for kind in artefacts:
        if kind == "noise":
            snr_db = 48.0 * quality - 8.0
            noise = rng.standard_normal(n)
            x = x + noise * np.sqrt(np.mean(x**2)) / 10 ** (snr_db / 20)
        elif kind == "bandlimit":
            cutoff = 1200.0 + 6500.0 * quality
            sos = signal.butter(6, min(cutoff, 7600.0), btype="lowpass", fs=sr, output="sos")
            x = signal.sosfilt(sos, x)
        elif kind == "smear":
            m = int((0.02 + 0.4 * sev) * sr)
            tail = rng.standard_normal(m) * np.exp(-np.arange(m) / (m / 4))
            wet = signal.fftconvolve(x, tail)[:n]
            wet *= np.std(x) / (np.std(wet) + 1e-12)
            x = (1 - sev) * x + sev * wet
        elif kind == "musical_noise":
            _, _, z = signal.stft(x, fs=sr, nperseg=512, noverlap=384)
            z = z * (rng.random(z.shape) >= 0.7 * sev)
            x = signal.istft(z, fs=sr, nperseg=512, noverlap=384)[1][:n]
            x = np.pad(x, (0, n - len(x)))
        elif kind == "clicks":
            peak = np.max(np.abs(x)) + 1e-12
            k = rng.poisson(40 * sev)
            idx = rng.integers(0, n, size=k)
            x = x.copy()
            x[idx] += rng.uniform(0.2, 0.6, size=k) * peak * rng.choice([-1.0, 1.0], size=k)
            for _ in range(rng.poisson(5 * sev)):
                s = int(rng.integers(0, n))
                x[s : s + int(rng.uniform(0.01, 0.03) * sr)] = 0.0
        else:
            raise ValueError(f"unknown artefact kind {kind!r}; known: {ARTEFACTS}")
    return x


def write_wav(path: Path, audio: np.ndarray) -> None:
    """16-bit PCM mono WAV at :data:`SAMPLE_RATE` (stdlib ``wave``: the same bytes as
    soundfile's PCM_16 writer, much faster)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.asarray(audio, dtype="<i2").tobytes())
