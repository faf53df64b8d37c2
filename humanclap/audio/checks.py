"""Checks of audio that is already decoded: what is refused, and what is accepted but flagged.

:func:`validate_wave` refuses a waveform that is not 1-D, not floating point, empty or not
finite (:class:`AudioError`, a ``ValueError`` naming the clip); :func:`audio_warnings` flags
valid but odd audio (silent, very short, longer than a model's window, saying what the model
does with the rest). Truncated files are found in :mod:`humanclap.audio.truncation`. See
:mod:`humanclap.audio` for how every kind of input is handled.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LONG_CLIPS",
    "LONG_TOLERANCE",
    "SHORT_SECONDS",
    "SILENCE_PEAK",
    "AudioError",
    "AudioNotFoundError",
    "audio_warnings",
    "validate_wave",
]

#: Peak amplitude below which a clip is flagged "silent" (-80 dBFS).
SILENCE_PEAK: float = 1e-4
#: Clips shorter than this (seconds) are flagged "short".
SHORT_SECONDS: float = 1.0
#: A clip is flagged "long" only when it exceeds the model's window by more than this fraction
#: (so a 10.02 s AudioCaps clip is not flagged for a 10 s model).
LONG_TOLERANCE: float = 0.01
#: What a model does with a clip longer than its window (its ``long_clips`` attribute), as
#: the ``"long"`` flag says it.
LONG_CLIPS: dict[str, str] = {
    "first window": "only the first {window} s is scored",
    "fusion": "fusion sees it whole, shrunk to {window} s, plus three {window} s chunks",
}


class AudioError(ValueError):
    """An audio file (or waveform) cannot be used; the message names it and the problem."""


class AudioNotFoundError(AudioError, FileNotFoundError):
    """The audio file does not exist (also a ``FileNotFoundError``)."""


def validate_wave(wave: object, name: str = "waveform") -> np.ndarray:
    """Check a waveform and return it as a contiguous float32 array.

    Parameters
    ----------
    wave : array-like, shape (T,)
        Floating-point samples (an integer array is refused: its scale is unknown).
    name : str
        How the waveform is named in error messages (a path, ``"audio[3]"`` ...).

    Returns
    -------
    np.ndarray, shape (T,), float32

    Raises
    ------
    AudioError
        Not 1-D, not floating point, empty, or containing NaN/inf.
    """
    arr = np.asarray(wave)
    if arr.ndim != 1:
        raise AudioError(f"{name}: expected a 1-D waveform (T,), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise AudioError(f"{name}: expected floating-point samples in [-1, 1], got {arr.dtype}")
    if arr.size == 0:
        raise AudioError(f"{name}: no audio frames (empty waveform)")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int(arr.size - np.count_nonzero(finite))
        first = int(np.argmin(finite))
        raise AudioError(
            f"{name}: {bad} non-finite (NaN/inf) samples of {arr.size}, first at sample {first}"
        )
    return arr


def audio_warnings(
    wave: np.ndarray,
    sample_rate: int,
    max_seconds: float | None = None,
    long_clips: str | None = None,
) -> list[str]:
    """Flags for valid but suspicious audio (see the module table).

    Parameters
    ----------
    wave : np.ndarray, shape (T,)
    sample_rate : int
        Rate of ``wave`` (Hz).
    max_seconds : float, optional
        The model's window; clips more than 1 % longer (:data:`LONG_TOLERANCE`) are flagged
        ``"long"``.
    long_clips : {"first window", "fusion"}, optional
        What the model does with the rest of a long clip (its ``long_clips``, see
        :data:`LONG_CLIPS`); the flag says it.

    Returns
    -------
    list of str
        Some of ``"silent"``, ``"short (0.05 s)"``, ``"long (60.0 s > 10 s window: only the
        first 10 s is scored)"`` (without ``long_clips``: ``"long (60.0 s > 10 s window)"``);
        empty when nothing is odd.
    """
    if long_clips is not None and long_clips not in LONG_CLIPS:
        raise ValueError(f"long_clips: expected one of {sorted(LONG_CLIPS)}, got {long_clips!r}")
    flags: list[str] = []
    seconds = wave.shape[-1] / float(sample_rate)
    if wave.size == 0 or float(np.max(np.abs(wave))) < SILENCE_PEAK:
        flags.append("silent")
    if seconds < SHORT_SECONDS:
        flags.append(f"short ({seconds:.2f} s)")
    if max_seconds is not None and seconds > max_seconds * (1 + LONG_TOLERANCE):
        what = "" if long_clips is None else ": " + LONG_CLIPS[long_clips]
        what = what.format(window=f"{max_seconds:g}")
        flags.append(f"long ({seconds:.1f} s > {max_seconds:g} s window{what})")
    return flags
