"""Clip operations on decoded waveforms (torch tensors): the model-input checks every CLAP
backend applies, cropping and padding to a model's window, and reading many files as clips.

torch is imported inside each function: :mod:`humanclap.audio` is below :mod:`humanclap.data`,
which a core install (no torch) imports; only these clip functions need torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from humanclap.audio.decode import load_audio

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["as_clips", "load_clips", "pad_or_crop"]


def pad_or_crop(wave: Tensor, num_samples: int, mode: str = "repeat", offset: int = 0) -> Tensor:
    """Bring one clip to exactly ``num_samples`` samples.

    Parameters
    ----------
    wave : Tensor, shape (T,)
    num_samples : int
    mode : {"repeat", "zero"}
        How a short clip is filled: ``"repeat"`` tiles the clip (as LAION-CLAP's "repeatpad"
        does, minus its final zero padding), ``"zero"`` appends zeros. An empty clip gives zeros.
    offset : int
        Where a long clip is cropped: samples ``offset .. offset + num_samples`` (clipped to the
        end). 0 = the first ``num_samples`` samples.

    Returns
    -------
    Tensor, shape (num_samples,)
    """
    import torch  # lazy: torch is heavy and not a core dependency (humanclap.data imports audio)

    if wave.ndim != 1:
        raise ValueError(f"wave: expected shape (T,), got {tuple(wave.shape)}")
    length = wave.shape[0]
    if length >= num_samples:
        start = max(0, min(int(offset), length - num_samples))
        return wave[start : start + num_samples]
    if length == 0 or mode == "zero":
        return torch.cat([wave, wave.new_zeros(num_samples - length)])
    if mode != "repeat":
        raise ValueError(f"mode: expected 'repeat' or 'zero', got {mode!r}")
    reps = -(-num_samples // length)
    return wave.repeat(reps)[:num_samples]


def as_clips(audio: Tensor | Sequence[Tensor] | np.ndarray) -> list[Tensor]:
    """A (B, T) tensor/array or a sequence of 1-D tensors -> list of B finite 1-D tensors."""
    import torch  # lazy: torch is heavy and not a core dependency (humanclap.data imports audio)

    if isinstance(audio, (torch.Tensor, np.ndarray)):
        audio = torch.as_tensor(audio)
        if audio.ndim != 2:
            raise ValueError(
                f"audio: expected a (B, T) tensor or a list of 1-D tensors, got shape "
                f"{tuple(audio.shape)}"
            )
        clips = list(audio.unbind(0))
    else:
        if isinstance(audio, str):
            raise TypeError("audio: expected waveforms, got a str (load the file first)")
        clips = [torch.as_tensor(clip) for clip in audio]
    if not clips:
        raise ValueError("audio: empty batch")
    for i, clip in enumerate(clips):
        if clip.ndim != 1:
            raise ValueError(f"audio[{i}]: expected shape (T,), got {tuple(clip.shape)}")
        if clip.shape[0] == 0:
            raise ValueError(f"audio[{i}]: empty clip (0 samples)")
        if not torch.isfinite(clip.detach()).all():
            raise ValueError(f"audio[{i}]: contains NaN or infinite samples")
    return clips


def load_clips(paths: Sequence[str | os.PathLike], sample_rate: int) -> list[Tensor]:
    """Decode files (:func:`humanclap.audio.load_audio`) into float32 tensors of shape (T_i,).

    Raises
    ------
    AudioError
        For the first file that cannot be used (the message names it).
    """
    import torch  # lazy: torch is heavy and not a core dependency (humanclap.data imports audio)

    return [torch.from_numpy(load_audio(path, sample_rate)) for path in paths]
