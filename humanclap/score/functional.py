"""CLAPScore of a batch of waveforms, in the torchmetrics functional style: :func:`clap_score`,
and the steps :class:`humanclap.score.metric.CLAPScore` shares with it.

A batch is checked and turned into the clips :func:`humanclap.score.clapscore` takes (mono
float32 waveforms at the model's rate, resampled by :func:`humanclap.audio.resample`, soxr "HQ"
as ``librosa.load`` does), then scored by :func:`~humanclap.score.clapscore` itself
(:func:`humanclap.embed.embed_audio` / :func:`~humanclap.embed.embed_text` and
:func:`humanclap.similarity.cosine_rows`): a clip and its prompt get the same score here as in
:func:`humanclap.score.score_pairs` and ``humanclap score`` reading the same samples from a file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from humanclap import models
from humanclap.audio import resample, validate_wave
from humanclap.runtime import check_precision, resolve_device, resolve_precision
from humanclap.score.pairs import clapscore

__all__ = [
    "DEFAULT_MODEL",
    "clap_score",
    "clap_score_compute",
    "clap_score_update",
    "load_model",
    "prepare_waveforms",
]

#: The model :class:`~humanclap.score.metric.CLAPScore` and :func:`clap_score` use unless told:
#: the released Human-CLAP fine-tune (wSCE+MAE, one of
#: :data:`humanclap.models.hub_pins.HUMAN_CLAP_REPOS`), the model this project is about.
DEFAULT_MODEL = "hf:sarulab-speech/human-clap-wsce-mae"

#: What ``audio`` may be (for messages).
_AUDIO_FORMS = (
    "a (batch, samples) or (batch, channels, samples) tensor/array, or a list of 1-D "
    "(samples,) tensors/arrays"
)


def load_model(
    model: str | os.PathLike | models.ClapModel,
    device: str | torch.device | None = None,
    precision: str = "auto",
) -> models.ClapModel:
    """The CLAP model a spec names (loaded by :func:`humanclap.models.load`), or ``model``
    itself, on ``device``.

    Parameters
    ----------
    model : str, path-like or humanclap.models.ClapModel
        A spec (``"hf:<repo>"``, ``"laion:<name>"``, ``"tiny"``, a saved model file: see
        :mod:`humanclap.models`) or a model (used as it is, not copied).
    device : str, torch.device or None
        ``"cpu"``, ``"cuda:1"``, ``"auto"`` (:func:`humanclap.runtime.resolve_device`); None: a
        spec loads on the CPU and a model stays where it is.
    precision : {"auto", "fp32", "bf16", "fp16"}
        Checked against the model's device (:func:`humanclap.runtime.resolve_precision`).

    Raises
    ------
    TypeError
        ``model`` is neither a spec nor a :class:`~humanclap.models.ClapModel`.
    ValueError
        An unknown spec, device or precision (the message names which).
    FileNotFoundError
        A model file, or a Hub model that is offline and not cached (the message says how to
        get it).
    """
    check_precision(precision)
    where = None if device is None else resolve_device(device)
    if isinstance(model, models.ClapModel):
        clap = model if where is None else model.to(where)
    elif isinstance(model, (str, os.PathLike)):
        clap = models.load(model, device=where or "cpu")
    else:
        raise TypeError(
            f"model: expected a model spec (e.g. {DEFAULT_MODEL!r}, 'tiny') or a "
            f"humanclap.models.ClapModel, got {type(model).__name__}"
        )
    resolve_precision(precision, clap.device)  # a ValueError naming precision and the device
    return clap


def _check_rate(sample_rate: Any) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise ValueError(f"sample_rate: expected a positive integer (Hz), got {sample_rate!r}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate: expected a positive integer (Hz), got {sample_rate!r}")
    return int(sample_rate)


def _not_float(name: str, dtype: Any) -> str:
    return f"{name}: expected floating-point samples in [-1, 1], got {dtype}"


def _as_array(item: Any, name: str) -> np.ndarray:
    """A tensor (any device, any float dtype) or array-like as a numpy array; ValueError for
    an integer or complex tensor (its scale is unknown)."""
    if isinstance(item, Tensor):
        if not item.is_floating_point():
            raise ValueError(_not_float(name, item.dtype))
        item = item.detach().cpu()
        return (item if item.dtype in (torch.float32, torch.float64) else item.float()).numpy()
    if isinstance(item, np.ndarray) and item.dtype != object:
        if not np.issubdtype(item.dtype, np.floating):
            raise ValueError(_not_float(name, item.dtype))
        return item
    if isinstance(item, (str, bytes, os.PathLike)) or not isinstance(item, Sequence):
        raise TypeError(f"{name}: expected a waveform (tensor or array), got {type(item).__name__}")
    return np.asarray(item)


def _split_batch(audio: Any) -> list[np.ndarray]:
    """The clips of a batch, each a numpy array as given (mono: channels averaged)."""
    if isinstance(audio, (str, bytes, os.PathLike)):
        raise TypeError(
            f"audio: expected waveforms ({_AUDIO_FORMS}), got a path; files are scored by "
            "humanclap.score.score_pairs or `humanclap score`"
        )
    if isinstance(audio, np.ndarray) and audio.dtype == object:  # a ragged batch: clip by clip
        audio = list(audio)
    if isinstance(audio, (Tensor, np.ndarray)):
        batch = _as_array(audio, "audio")
        if batch.ndim == 1:
            raise ValueError(
                f"audio: got one clip of shape {batch.shape}; expected {_AUDIO_FORMS} "
                "(a single clip: audio[None])"
            )
        if batch.ndim == 3:  # (batch, channels, samples): the channel mean, as files are read
            return [np.mean(clip, axis=0) for clip in batch]
        if batch.ndim != 2:
            raise ValueError(f"audio: expected {_AUDIO_FORMS}, got shape {batch.shape}")
        return list(batch)
    if not isinstance(audio, Sequence):
        raise TypeError(f"audio: expected {_AUDIO_FORMS}, got {type(audio).__name__}")
    clips = [_as_array(item, f"audio[{i}]") for i, item in enumerate(audio)]
    for i, clip in enumerate(clips):
        if clip.ndim != 1:
            raise ValueError(
                f"audio[{i}]: expected a 1-D waveform (samples,), got shape {clip.shape} "
                "(average the channels of a multi-channel clip first)"
            )
    return clips


def prepare_waveforms(audio: Any, sample_rate: int, target_rate: int) -> list[np.ndarray]:
    """The clips of a batch as the model takes them.

    Parameters
    ----------
    audio : Tensor, np.ndarray or sequence
        Shape (B, T) or (B, C, T) (channels averaged to mono), or B clips of shape (T_i,);
        floating point, any device.
    sample_rate : int
        Their rate (Hz).
    target_rate : int
        The model's rate (Hz).

    Returns
    -------
    list of B np.ndarray, shape (ceil(T_i * target_rate / sample_rate),), float32

    Raises
    ------
    ValueError
        A wrong shape, an integer dtype, an empty clip or NaN/inf samples; the message names
        ``audio`` or ``audio[i]`` (:func:`humanclap.audio.validate_wave`).
    TypeError
        ``audio`` is a path, or an item is not a waveform.
    """
    rate = _check_rate(sample_rate)
    clips = _split_batch(audio)
    return [
        resample(validate_wave(c, f"audio[{i}]"), rate, target_rate) for i, c in enumerate(clips)
    ]


def _check_texts(texts: Any, n_clips: int) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts: expected a sequence of prompts (str), got {type(texts).__name__}")
    texts = list(texts)
    if len(texts) != n_clips:
        raise ValueError(
            f"audio and texts must be aligned pairs: got {n_clips} clips and {len(texts)} texts"
        )
    return texts


def clap_score_update(
    audio: Any,
    texts: Sequence[str],
    model: models.ClapModel,
    sample_rate: int,
    *,
    batch_size: int = 32,
    precision: str = "auto",
) -> Tensor:
    """Each pair's CLAPScore: resample the clips to ``model.sample_rate``, then
    :func:`humanclap.score.clapscore` (no embedding cache, no progress bar).

    Parameters
    ----------
    audio : Tensor, np.ndarray or sequence
        B clips, as :func:`prepare_waveforms` takes them.
    texts : sequence of B str
        Their prompts; an empty one is refused.
    model : humanclap.models.ClapModel
    sample_rate : int
        Rate (Hz) of ``audio``.
    batch_size : int
        Clips per model call.
    precision : {"auto", "fp32", "bf16", "fp16"}
        As in :func:`humanclap.embed.embed_audio`.

    Returns
    -------
    Tensor, shape (B,), float64, on the CPU
        ``cos(audio_emb[i], text_emb[i])``.

    Raises
    ------
    ValueError
        Misaligned ``audio`` and ``texts``, an empty prompt, a bad clip (named ``texts[i]`` /
        ``audio[i]``); :class:`humanclap.embed.EmbedError` (a ValueError) when the model gives a
        non-finite embedding.
    """
    clips = prepare_waveforms(audio, sample_rate, int(model.sample_rate))
    texts = _check_texts(texts, len(clips))
    if not clips:
        return torch.zeros(0, dtype=torch.float64)
    scores = clapscore(
        model, texts, clips, batch_size=batch_size, num_workers=0, cache_dir=None,
        progress=False, errors="raise", precision=precision,
    )  # fmt: skip
    return torch.from_numpy(np.asarray(scores, dtype=np.float64))


def clap_score_compute(score_sum: Tensor, num_pairs: Tensor) -> Tensor:
    """The mean CLAPScore from the sum of the scores and their number: a 0-d tensor (NaN when
    there are none)."""
    return score_sum / num_pairs if int(num_pairs) else torch.full_like(score_sum, float("nan"))


def clap_score(
    audio: Any,
    texts: Sequence[str],
    model: str | os.PathLike | models.ClapModel = DEFAULT_MODEL,
    *,
    sample_rate: int,
    per_pair: bool = False,
    device: str | torch.device | None = None,
    precision: str = "auto",
    batch_size: int = 32,
) -> Tensor | dict[str, Tensor]:
    """CLAPScore of a batch of (clip, prompt) pairs: the functional form of
    :class:`~humanclap.score.metric.CLAPScore`.

    Parameters
    ----------
    audio : Tensor, np.ndarray or sequence
        B clips: shape (B, T) or (B, C, T) (channels averaged), or a list of (T_i,); floating
        point, at ``sample_rate``, any device.
    texts : sequence of B str
    model : str, path-like or humanclap.models.ClapModel
        A spec (loaded on each call: pass a loaded model to score many batches) or a model.
    sample_rate : int
        Rate (Hz) of ``audio``; resampled to ``model.sample_rate``.
    per_pair : bool
        Also return each pair's score.
    device, precision
        As in :func:`load_model`.
    batch_size : int
        Clips per model call.

    Returns
    -------
    Tensor, 0-d, float64, on the CPU
        The mean cosine; with ``per_pair``, ``{"clap_score": mean, "scores": Tensor (B,)}``.

    Examples
    --------
    >>> clap_score(waves, ["a dog barks", "rain"], "tiny", sample_rate=16000)  # doctest: +SKIP
    tensor(0.1830, dtype=torch.float64)
    """
    clap = load_model(model, device, precision)
    scores = clap_score_update(
        audio, texts, clap, sample_rate, batch_size=batch_size, precision=precision
    )
    mean = clap_score_compute(scores.sum(), torch.tensor(scores.numel()))
    return {"clap_score": mean, "scores": scores} if per_pair else mean
