"""Audio, from files to the clips a model takes (layer 2: imports nothing of humanclap above it).

- :mod:`humanclap.audio.decode` -- decoding and resampling, equal to ``librosa.load``.
- :mod:`humanclap.audio.checks` -- what is refused (:class:`AudioError`) and what is flagged.
- :mod:`humanclap.audio.truncation` -- truncated files, found from their bytes.
- :mod:`humanclap.audio.clips` -- model-input checks, crop/pad to a window, reading many clips.
- :mod:`humanclap.audio.paths` -- the one rule from a table's audio cell to a file.

How each kind of input is handled: see :mod:`humanclap.audio.decode`.
"""

from humanclap.audio.checks import (
    LONG_CLIPS,
    LONG_TOLERANCE,
    SHORT_SECONDS,
    SILENCE_PEAK,
    AudioError,
    AudioNotFoundError,
    audio_warnings,
    validate_wave,
)
from humanclap.audio.clips import as_clips, load_clips, pad_or_crop
from humanclap.audio.decode import (
    AudioInfo,
    decode_audio,
    decode_audio_info,
    decode_with_truncation,
    load_audio,
    load_audio_info,
    read_audio_bytes,
    resample,
)
from humanclap.audio.paths import resolve_audio_path
from humanclap.audio.truncation import Truncation

__all__ = [
    "LONG_CLIPS",
    "LONG_TOLERANCE",
    "SHORT_SECONDS",
    "SILENCE_PEAK",
    "AudioError",
    "AudioInfo",
    "AudioNotFoundError",
    "Truncation",
    "as_clips",
    "audio_warnings",
    "decode_audio",
    "decode_audio_info",
    "decode_with_truncation",
    "load_audio",
    "load_audio_info",
    "load_clips",
    "pad_or_crop",
    "read_audio_bytes",
    "resample",
    "resolve_audio_path",
    "validate_wave",
]
