"""Read audio files into mono float32 waveforms at a model's sample rate.

:func:`load_audio` decodes with ``soundfile`` (libsndfile: WAV 8/16/24/32-bit integer and
32/64-bit float, FLAC, OGG/Vorbis, Opus, MP3, AIFF, ...), averages the channels to mono and
resamples with ``soxr`` in its "HQ" mode. The result equals ``librosa.load(path,
sr=sample_rate)[0]`` of librosa 0.11 (same decoder, same channel mean, same resampler, same
output length ``ceil(T * sample_rate / native_rate)``), without importing librosa.

Nothing bad passes silently: every problem raises :class:`AudioError` (a ``ValueError``) whose
message names the file and the problem. Audio that is valid but suspicious is accepted and
*flagged* by :func:`audio_warnings`, so a score table can carry a ``warning`` column.

======================================  ==========================================================
Input                                   Handling
======================================  ==========================================================
missing path                            :class:`AudioNotFoundError` (an :class:`AudioError` and a
                                        ``FileNotFoundError``) naming the path
a directory                             :class:`AudioError` "is a directory"
empty (0-byte) file                     :class:`AudioError` "empty file (0 bytes)"
garbage / unsupported bytes             :class:`AudioError` "cannot decode ..." (libsndfile's
                                        reason)
valid header, zero frames               :class:`AudioError` "no audio frames"
NaN / inf samples (float WAV)           :class:`AudioError` "N non-finite samples" (never passed
                                        on: one NaN makes the embedding NaN)
digital silence (peak < -80 dBFS)       accepted (valid audio); flagged ``"silent"``
very short clip (< 1 s, e.g. 0.05 s)    accepted; flagged ``"short (0.05 s)"``; the model fills
                                        it by repeating it ("repeatpad" as LAION-CLAP does)
long clip (> 1.01 x model's window)     accepted; flagged ``"long (60.0 s > 10 s window)"`` when
                                        ``max_seconds`` is given to :func:`audio_warnings`; the
                                        model crops it (how: see the backend's doc)
stereo / multi-channel                  channels averaged (mean) to mono
any sample rate (8k ... 96k)            resampled to ``sample_rate`` with soxr "HQ"
                                        (``librosa.resample(res_type="soxr_hq")``)
8/16/24/32-bit int, float WAV, FLAC,    read by libsndfile; integers scaled to [-1, 1) as
OGG/Vorbis                              ``soundfile.read(dtype="float32")`` does
======================================  ==========================================================

:func:`decode_audio` does the same for a file's bytes already in memory (:mod:`humanclap.embed`
uses it to decode exactly the bytes whose hash keys the cache).
:func:`validate_wave` applies the same checks (1-D, floating point, non-empty, finite) to an
array that is already a waveform. :func:`load_audio_info` reads the header only.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from humanclap.audio.checks import AudioError, AudioNotFoundError, validate_wave

__all__ = [
    "AudioInfo",
    "decode_audio",
    "decode_audio_info",
    "load_audio",
    "load_audio_info",
    "read_audio_bytes",
    "resample",
]

#: soxr quality used by :func:`resample` (librosa 0.11's default ``res_type``).
SOXR_QUALITY = "soxr_hq"


@dataclass(frozen=True)
class AudioInfo:
    """Header of an audio file (no samples decoded).

    Attributes
    ----------
    path : Path
    sample_rate : int
        Native rate (Hz).
    channels : int
    frames : int
        Samples per channel.
    duration : float
        ``frames / sample_rate`` seconds.
    format, subtype : str
        libsndfile's names, e.g. ``"WAV"`` / ``"PCM_16"``.
    """

    path: Path
    sample_rate: int
    channels: int
    frames: int
    duration: float
    format: str
    subtype: str


def _check_file(path: Path) -> None:
    """Raise :class:`AudioError` for a missing path, a directory or a 0-byte file."""
    if not path.exists():
        raise AudioNotFoundError(f"{path}: no such audio file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")


def _info(source: str | io.BytesIO, name: str) -> AudioInfo:
    try:
        info = sf.info(source)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"{name}: cannot decode audio ({err})") from err
    return AudioInfo(
        path=Path(name),
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        duration=float(info.frames) / info.samplerate if info.samplerate else 0.0,
        format=str(info.format),
        subtype=str(info.subtype),
    )


def load_audio_info(path: str | os.PathLike) -> AudioInfo:
    """Read the header of an audio file.

    Raises
    ------
    AudioError
        Missing, empty or undecodable file (see the module table).
    """
    path = Path(path)
    _check_file(path)
    return _info(str(path), str(path))


def decode_audio_info(data: bytes, name: str = "<bytes>") -> AudioInfo:
    """:func:`load_audio_info` for a file's bytes already in memory (``path`` is ``name``)."""
    if len(data) == 0:
        raise AudioError(f"{name}: empty file (0 bytes)")
    return _info(io.BytesIO(data), name)


def resample(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample as ``librosa.resample(wave, orig_sr=, target_sr=)`` (soxr "HQ") does.

    Parameters
    ----------
    wave : np.ndarray, shape (T,), float32
    orig_sr, target_sr : int
        Rates in Hz.

    Returns
    -------
    np.ndarray, shape (ceil(T * (target_sr / orig_sr)),), float32
        ``wave`` itself when the rates are equal. The length is computed as librosa does
        (``T * ratio`` in floating point, so e.g. 13230 samples at 44.1 kHz -> 48 kHz give
        14401, not 14400).
    """
    if orig_sr == target_sr:
        return wave
    ratio = float(target_sr) / orig_sr  # librosa's expression, rounding included
    n_out = int(math.ceil(wave.shape[-1] * ratio))
    out = soxr.resample(wave, orig_sr, target_sr, quality=SOXR_QUALITY)
    if out.shape[-1] > n_out:
        out = out[:n_out]
    elif out.shape[-1] < n_out:
        out = np.pad(out, (0, n_out - out.shape[-1]))
    return np.asarray(out, dtype=wave.dtype)


def load_audio(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """Decode an audio file to a mono float32 waveform at ``sample_rate``.

    Equals ``librosa.load(path, sr=sample_rate)[0]`` (librosa 0.11, soxr "HQ"). See the module
    table for how each kind of file is handled.

    Parameters
    ----------
    path : str or path-like
    sample_rate : int
        Target rate in Hz (e.g. a model's ``sample_rate``).

    Returns
    -------
    np.ndarray, shape (T,), float32
        ``T = ceil(frames * (sample_rate / native_rate))`` (see :func:`resample`).

    Raises
    ------
    AudioError
        The file is missing (:class:`AudioNotFoundError`), empty, undecodable, has no frames
        or contains NaN/inf samples. The message names the file.
    """
    sample_rate = _check_rate(sample_rate)
    path = Path(path)
    _check_file(path)
    return _decode(str(path), str(path), sample_rate)


def decode_audio(data: bytes, sample_rate: int, name: str = "<bytes>") -> np.ndarray:
    """:func:`load_audio` for the bytes of a file already read into memory.

    Parameters
    ----------
    data : bytes
        The whole file (any format libsndfile reads).
    sample_rate : int
    name : str
        How the file is named in error messages (its path).

    Returns
    -------
    np.ndarray, shape (T,), float32
        The same samples :func:`load_audio` gives for a file with these bytes.
    """
    sample_rate = _check_rate(sample_rate)
    if len(data) == 0:
        raise AudioError(f"{name}: empty file (0 bytes)")
    return _decode(io.BytesIO(data), name, sample_rate)


def _check_rate(sample_rate: int) -> int:
    if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate: expected a positive integer (Hz), got {sample_rate!r}")
    return int(sample_rate)


def _decode(source: str | io.BytesIO, name: str, sample_rate: int) -> np.ndarray:
    try:
        with sf.SoundFile(source) as handle:
            native_sr = int(handle.samplerate)
            data = handle.read(dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"{name}: cannot decode audio ({err})") from err
    if data.size == 0:
        raise AudioError(f"{name}: no audio frames (valid header, 0 samples)")
    if data.ndim == 2:  # (T, C) -> mean over channels, as librosa.to_mono does on (C, T)
        data = np.mean(data.T, axis=0)
    wave = validate_wave(data, name)
    return resample(wave, native_sr, sample_rate)


def read_audio_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of an audio file, with the same errors as :func:`load_audio`.

    Raises
    ------
    AudioNotFoundError
        No such file.
    AudioError
        A directory, or unreadable (permissions, I/O error).
    """
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise AudioNotFoundError(f"{path}: no such audio file") from None
    except IsADirectoryError:
        raise AudioError(f"{path}: is a directory, not an audio file") from None
    except OSError as err:
        raise AudioError(f"{path}: cannot read ({err.strerror or err})") from None
