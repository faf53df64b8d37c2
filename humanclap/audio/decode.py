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
truncated file (WAV, RF64, FLAC, Ogg:   :class:`AudioError` "truncated: header declares 3.00 s, file
see :mod:`~humanclap.audio.truncation`) holds 1.80 s"; with ``allow_truncated=True`` what is there
                                        is decoded (:func:`decode_with_truncation` says so)
valid header, zero frames               :class:`AudioError` "no audio frames"
NaN / inf samples (float WAV)           :class:`AudioError` "N non-finite samples" (never passed
                                        on: one NaN makes the embedding NaN)
digital silence (peak < -80 dBFS)       accepted (valid audio); flagged ``"silent"``
very short clip (< 1 s, e.g. 0.05 s)    accepted; flagged ``"short (0.05 s)"``; the model fills
                                        it by repeating it ("repeatpad" as LAION-CLAP does)
long clip (> 1.01 x model's window)     accepted; flagged ``"long (60.0 s > 10 s window: ...)"``
                                        by :func:`audio_warnings`, saying what the model does
                                        with the rest (``long_clips``)
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
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from humanclap.audio.checks import AudioError, AudioNotFoundError, validate_wave
from humanclap.audio.truncation import Truncation, flac_streaminfo, stream_truncation

__all__ = [
    "AudioInfo",
    "decode_audio",
    "decode_audio_info",
    "decode_with_truncation",
    "load_audio",
    "load_audio_info",
    "read_audio_bytes",
    "resample",
]

#: soxr quality used by :func:`resample` (librosa 0.11's default ``res_type``).
SOXR_QUALITY = "soxr_hq"
#: Frames per read when a truncated FLAC is decoded up to where it breaks off.
_PARTIAL_BLOCK = 256  # libsndfile drops the whole block a decoding error falls in
#: How libsndfile names a file object in its messages ("<_io.BytesIO object at 0x...>").
_OBJECT_REPR = re.compile(r"Error opening <[^>]*>: |<[^<>]* object at 0x[0-9a-fA-F]+>")


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


def _reason(err: Exception) -> str:
    """libsndfile's reason, without its name for a file object (``<_io.BytesIO ...>``)."""
    text = err.error_string if isinstance(err, sf.LibsndfileError) else str(err)
    text = _OBJECT_REPR.sub("", text).strip()
    return text.removeprefix("Error : ").strip() or type(err).__name__


def _info(source: str | BinaryIO, name: str) -> AudioInfo:
    try:
        info = sf.info(source)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"{name}: cannot decode audio ({_reason(err)})") from err
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


def decode_audio_info(data: bytes, name: str = "audio data") -> AudioInfo:
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


def load_audio(
    path: str | os.PathLike, sample_rate: int, *, allow_truncated: bool = False
) -> np.ndarray:
    """Decode an audio file to a mono float32 waveform at ``sample_rate``.

    Equals ``librosa.load(path, sr=sample_rate)[0]`` (librosa 0.11, soxr "HQ"). See the module
    table for how each kind of file is handled.

    Parameters
    ----------
    path : str or path-like
    sample_rate : int
        Target rate in Hz (e.g. a model's ``sample_rate``).
    allow_truncated : bool
        Decode what a truncated file holds instead of refusing it
        (:mod:`humanclap.audio.truncation`; :func:`decode_with_truncation` also says so).

    Returns
    -------
    np.ndarray, shape (T,), float32
        ``T = ceil(frames * (sample_rate / native_rate))`` (see :func:`resample`).

    Raises
    ------
    AudioError
        The file is missing (:class:`AudioNotFoundError`), empty, undecodable, truncated (unless
        ``allow_truncated``), has no frames or contains NaN/inf samples. The message names the
        file.
    """
    sample_rate = _check_rate(sample_rate)
    path = Path(path)
    _check_file(path)
    with path.open("rb") as stream:
        return _decode(str(path), stream, str(path), sample_rate, allow_truncated)[0]


def decode_audio(
    data: bytes, sample_rate: int, name: str = "audio data", *, allow_truncated: bool = False
) -> np.ndarray:
    """:func:`load_audio` for the bytes of a file already read into memory.

    Parameters
    ----------
    data : bytes
        The whole file (any format libsndfile reads).
    sample_rate : int
    name : str
        How the file is named in error messages (its path).
    allow_truncated : bool
        As in :func:`load_audio`.

    Returns
    -------
    np.ndarray, shape (T,), float32
        The same samples :func:`load_audio` gives for a file with these bytes.
    """
    return decode_with_truncation(data, sample_rate, name, allow_truncated=allow_truncated)[0]


def decode_with_truncation(
    data: bytes, sample_rate: int, name: str = "audio data", *, allow_truncated: bool = False
) -> tuple[np.ndarray, Truncation | None]:
    """:func:`decode_audio`, and whether the file was truncated.

    Returns
    -------
    wave : np.ndarray, shape (T,), float32
    truncation : Truncation or None
        None for a whole file; for a truncated one (only with ``allow_truncated``) how much is
        missing (:meth:`Truncation.flag` is its warning).

    Raises
    ------
    AudioError
        As :func:`load_audio`; a truncated file without ``allow_truncated`` gives
        ``"<name>: truncated: header declares 3.00 s, file holds 1.80 s"``.
    """
    sample_rate = _check_rate(sample_rate)
    if len(data) == 0:
        raise AudioError(f"{name}: empty file (0 bytes)")
    stream = io.BytesIO(data)
    return _decode(stream, stream, name, sample_rate, allow_truncated)


def _check_rate(sample_rate: int) -> int:
    if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate: expected a positive integer (Hz), got {sample_rate!r}")
    return int(sample_rate)


def _open(source: str | BinaryIO) -> sf.SoundFile:
    if not isinstance(source, str):
        source.seek(0)
    return sf.SoundFile(source)


def _read(source: str | BinaryIO, partial: bool) -> tuple[np.ndarray, int]:
    """All samples, (T,) or (T, C) float32, and the native rate. With ``partial``, a decoder
    error ends the read instead (the frames before it are returned: a truncated FLAC)."""
    with _open(source) as handle:
        rate = int(handle.samplerate)
        try:
            return handle.read(dtype="float32", always_2d=False), rate
        except sf.LibsndfileError:
            if not partial:
                raise
    blocks = []
    with _open(source) as handle:
        while True:
            try:
                block = handle.read(_PARTIAL_BLOCK, dtype="float32", always_2d=True)
            except sf.LibsndfileError:
                break
            if not len(block):
                break
            blocks.append(block)
        data = np.concatenate(blocks) if blocks else np.zeros((0, handle.channels), np.float32)
    return (data[:, 0] if data.shape[1] == 1 else data), rate


def _held(source: str | BinaryIO) -> float | None:
    """Seconds libsndfile finds in a file (for a truncated Ogg), or None."""
    if not isinstance(source, str):
        source.seek(0)
    try:
        return _info(source, "").duration
    except AudioError:
        return None


def _decode(
    source: str | BinaryIO, stream: BinaryIO, name: str, sample_rate: int, allow_truncated: bool
) -> tuple[np.ndarray, Truncation | None]:
    """Decode ``source`` (a path, or ``stream`` itself); ``stream`` is read for truncation."""
    cut = stream_truncation(stream)
    if cut is not None and cut.present is None:
        cut = Truncation(cut.declared, _held(source))
    flac = flac_streaminfo(stream)
    if cut is not None and not allow_truncated:
        raise AudioError(f"{name}: {cut.reason()}")
    try:
        data, native_sr = _read(source, partial=flac is not None)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        why = "cannot decode audio" if cut is None else f"{cut.reason()}; the rest does not decode"
        raise AudioError(f"{name}: {why} ({_reason(err)})") from err
    if flac is not None and data.shape[0] < flac[0]:
        cut = Truncation(flac[0] / flac[1], data.shape[0] / native_sr)
        if not allow_truncated:
            raise AudioError(f"{name}: {cut.reason()}")
    if data.size == 0 and cut is not None:
        raise AudioError(f"{name}: {cut.reason()}; no audio frames decode")
    if data.size == 0:
        raise AudioError(f"{name}: no audio frames (valid header, 0 samples)")
    if data.ndim == 2:  # (T, C) -> mean over channels, as librosa.to_mono does on (C, T)
        data = np.mean(data.T, axis=0)
    wave = validate_wave(data, name)
    return resample(wave, native_sr, sample_rate), cut


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
