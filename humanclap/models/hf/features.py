"""The audio features of one clip for transformers' ``ClapModel``, deterministic.

transformers' numpy ``ClapFeatureExtractor`` applied to one clip (as ``ClapProcessor(audio=clip)``
does; its public ``__call__``, the same on transformers 4.40+ and 5), with its two random choices
fixed (see :mod:`humanclap.models.hf`): long clips under ``"fusion"`` take the centre chunk of each
third, under ``"rand_trunc"`` the first window.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["clip_features", "pooled"]


def _fusion_chunks(mel: np.ndarray, chunk_frames: int) -> np.ndarray:
    """The mel spectrogram (frames, mel_bins) of a long clip shrunk to ``chunk_frames``, then
    three chunks at the centres of the thirds of the possible start frames.
    Shape (4, chunk_frames, mel_bins), float32."""
    total_frames = mel.shape[0]
    ranges = np.array_split(np.arange(total_frames - chunk_frames + 1), 3)
    starts = [int(r[len(r) // 2]) if len(r) else 0 for r in ranges]
    shrunk = F.interpolate(
        torch.tensor(mel[None, None, :]),
        size=[chunk_frames, mel.shape[1]],
        mode="bilinear",
        align_corners=False,
    )[0][0].numpy()
    chunks = [mel[s : s + chunk_frames, :] for s in starts]
    return np.stack([shrunk, *chunks]).astype(np.float32)


def _extract(
    fe: Any, wave: np.ndarray, truncation: str, padding: str, max_length: int
) -> np.ndarray:
    """``fe([wave], ...)`` (the public ``ClapFeatureExtractor.__call__``) -> the clip's mel
    features, shape (C, frames, mel_bins), float64 (a list of clips is converted to float64 by
    both lines). numpy's global RNG is left as it was: under ``"fusion"`` the extractor draws a random clip to mark ``is_longer`` when none is
    longer than ``max_length`` (we set ``is_longer`` ourselves)."""
    # the extractor draws from numpy's legacy global RNG, so that is what is saved and restored
    state = np.random.get_state()  # noqa: NPY002
    try:
        out = fe(
            [wave],
            sampling_rate=fe.sampling_rate,
            truncation=truncation,
            padding=padding,
            max_length=max_length,
            return_tensors="np",
        )
    finally:
        np.random.set_state(state)  # noqa: NPY002
    return np.asarray(out["input_features"][0])


def clip_features(
    fe: Any, settings: dict[str, Any], fuse_short_clips: bool, wave: Tensor | np.ndarray
) -> tuple[np.ndarray, bool]:
    """One clip -> (``input_features``, ``is_longer``).

    Calls the extractor's public ``__call__`` on one float64 clip, with its random choices for
    long clips replaced by fixed ones: a clip longer than ``max_length_s`` is cut to its first
    window (``"rand_trunc"``) before the call, or (``"fusion"``) its whole mel spectrogram is taken
    (``max_length`` = the clip's length, so nothing is cropped) and chunked by
    :func:`_fusion_chunks`.

    Parameters
    ----------
    fe : transformers.ClapFeatureExtractor
    settings : dict
        Its settings (:func:`~humanclap.models.hf.config.feature_extractor_settings`).
    fuse_short_clips : bool
        Mark clips of at most ``max_length_s`` as ``is_longer`` under ``"fusion"``.
    wave : Tensor or ndarray, shape (T,), T >= 1, at the extractor's sampling rate

    Returns
    -------
    input_features : ndarray, shape (C, frames, mel_bins), float32
        C = 4 under ``"fusion"``, else 1.
    is_longer : bool
    """
    wave = np.asarray(torch.as_tensor(wave).detach().to("cpu", torch.float64).numpy())
    if wave.ndim != 1 or wave.shape[0] == 0:
        raise ValueError(f"wave: expected a non-empty 1-D clip, got shape {wave.shape}")
    max_samples = int(fe.nb_max_samples)
    truncation, padding = settings["truncation"], settings["padding"]
    short_longer = truncation == "fusion" and fuse_short_clips
    if wave.shape[0] <= max_samples:
        mel = _extract(fe, wave, truncation, padding, max_samples)
        return mel.astype(np.float32), short_longer
    if truncation == "rand_trunc":
        mel = _extract(fe, wave[:max_samples], truncation, padding, max_samples)
        return mel.astype(np.float32), True
    # fusion: the whole clip fits max_length = its length, so the extractor returns its full mel
    # spectrogram four times (frames, mel_bins); chunk it as the extractor would, without chance.
    mel = _extract(fe, wave, truncation, padding, wave.shape[0])[0]
    chunk_frames = max_samples // int(fe.hop_length) + 1
    if chunk_frames == mel.shape[0]:
        return np.stack([mel, mel, mel, mel]).astype(np.float32), short_longer
    return _fusion_chunks(mel, chunk_frames), True


def pooled(out: Any) -> Tensor:
    """``get_*_features`` output (a tensor, or a ModelOutput with ``pooler_output``) -> (B, D)."""
    if isinstance(out, Tensor):
        return out
    pooled_output = getattr(out, "pooler_output", None)
    if pooled_output is None:
        pooled_output = out[1] if isinstance(out, tuple) and len(out) > 1 else None
    if not isinstance(pooled_output, Tensor):
        raise TypeError(f"unexpected output of ClapModel.get_*_features: {type(out).__name__}")
    return pooled_output
