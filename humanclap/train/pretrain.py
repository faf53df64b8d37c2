"""Pre-train the tiny CLAP on a world's natural clips: the embedded world's "conventional CLAP".

:func:`pretrain` trains a fresh :class:`~humanclap.models.tiny.TinyClap` with symmetric InfoNCE
(:func:`humanclap.losses.sce`, with the false-negative mask) on the NATURAL
(``source == "audiocaps"``) TRAIN-split pairs of a world in RELATE's layout: AdamW with warm-up
and cosine decay, augmentation by a random crop and circular time shift (up to
``max_shift_seconds``), SpecAugment-style frequency and time masks and word dropout. A random
gain is not used: the model's per-clip standardisation removes it exactly.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from humanclap import losses
from humanclap.audio import load_clips, pad_or_crop, resolve_audio_path
from humanclap.data import load_relate, pair_table
from humanclap.data.synthetic import world_fingerprint
from humanclap.models.tiny import TinyClap, TinyConfig
from humanclap.similarity import retrieval_at_k
from humanclap.train.loop import adamw, make_batches, train_epoch, warmup_cosine
from humanclap.train.state import isolated_rngs
from humanclap.utils import progress_bar

__all__ = [
    "PRETRAIN_DEFAULTS",
    "PRETRAIN_VERSION",
    "fit_contrastive",
    "natural_pairs",
    "pretrain",
    "read_clips",
]

log = logging.getLogger(__name__)

#: Bump when the pre-training recipe changes in a way the arguments do not show (cache key).
PRETRAIN_VERSION = 1
#: Defaults of :func:`pretrain` (also the recipe behind ``load("tiny")``).
PRETRAIN_DEFAULTS: dict[str, Any] = {
    "num_epochs": 80,
    "lr": 2e-3,
    "batch_size": 64,
    "weight_decay": 0.05,
    "warmup_epochs": 2,
    "max_shift_seconds": 0.25,
    "freq_mask": 8,
    "time_mask_fraction": 0.1,
    "word_dropout": 0.1,
}


def natural_pairs(world_root: str | os.PathLike, split: str) -> Any:
    """Pairs of natural clips (``source == "audiocaps"``) in one split of a world.

    Returns the rows of :func:`humanclap.data.pair_table` (a pandas DataFrame with at least
    ``wavname``, ``text``, ``source``, ``split``, ``target``), index reset.
    """
    ratings = load_relate(world_root, categories=False, download=False, verify=False)
    pairs = pair_table(ratings)
    keep = (pairs["source"] == "audiocaps") & (pairs["split"] == split)
    return pairs[keep].reset_index(drop=True)


def read_clips(
    world_root: str | os.PathLike, wavnames: Sequence[str], sample_rate: int
) -> list[Tensor]:
    """The clips of ``wavnames`` in a world, float32 tensors (T_i,) at ``sample_rate``.

    Raises
    ------
    AudioError
        A file is missing or unusable (the message names it).
    """
    return load_clips([resolve_audio_path(w, world_root) for w in wavnames], sample_rate)


# ----------------------------------------------------------------------------- training
def _spec_augment(logmel: Tensor, freq_mask: int, time_mask: int, gen: torch.Generator) -> Tensor:
    """One frequency and one time mask per clip (random widths up to the given maxima), filled
    with the clip's mean value. Shape (B, M, F) -> (B, M, F)."""
    b, m, f = logmel.shape
    fill = logmel.mean(dim=(1, 2), keepdim=True).expand_as(logmel)
    keep = torch.ones(b, m, f, dtype=torch.bool)
    for size, axis_len, axis in ((freq_mask, m, 1), (time_mask, f, 2)):
        if size <= 0:
            continue
        width = torch.randint(0, size + 1, (b, 1), generator=gen)
        start = (torch.rand(b, 1, generator=gen) * (axis_len - width + 1)).long()
        pos = torch.arange(axis_len)[None, :]
        hit = (pos >= start) & (pos < start + width)  # (B, axis_len)
        keep &= ~(hit[:, :, None] if axis == 1 else hit[:, None, :])
    return torch.where(keep.to(logmel.device), logmel, fill)


def _drop_words(text: str, p: float, gen: torch.Generator) -> str:
    """Drop each whitespace-separated word with probability ``p`` (at least one word stays)."""
    words = text.split()
    if p <= 0 or len(words) < 2:
        return text
    keep = (torch.rand(len(words), generator=gen) >= p).tolist()
    if not any(keep):
        keep[int(torch.randint(0, len(words), (1,), generator=gen))] = True
    return " ".join(w for w, k in zip(words, keep, strict=True) if k)


@dataclass(frozen=True)
class _Augment:
    """The pre-training augmentation of one batch, drawing from ``gen`` in a fixed order."""

    num_samples: int
    max_shift: int
    freq_mask: int
    time_mask_fraction: float
    word_dropout: float
    gen: torch.Generator

    def wave(self, clip: Tensor) -> Tensor:
        """A random window of ``num_samples`` (repeat-padded if short), circularly shifted."""
        extra = clip.shape[0] - self.num_samples
        offset = int(torch.randint(0, extra + 1, (1,), generator=self.gen)) if extra > 0 else 0
        wave = pad_or_crop(clip, self.num_samples, offset=offset)
        if self.max_shift > 0:
            shift = int(
                torch.randint(-self.max_shift, self.max_shift + 1, (1,), generator=self.gen)
            )
            wave = torch.roll(wave, shift)
        return wave

    def embed(
        self, model: TinyClap, clips: Sequence[Tensor], texts: Sequence[str]
    ) -> tuple[Tensor, Tensor]:
        """Augmented audio and text embeddings of one batch, (B, D) each."""
        waves = [self.wave(clip) for clip in clips]
        logmel = model.frontend(torch.stack(waves).to(model.device))
        time_mask = int(self.time_mask_fraction * logmel.shape[-1])
        logmel = _spec_augment(logmel, self.freq_mask, time_mask, self.gen)
        audio_emb = model.embed_logmel(logmel)
        text_emb = model.embed_text([_drop_words(t, self.word_dropout, self.gen) for t in texts])
        return audio_emb, text_emb


def _check_pairs(clips: Sequence[Tensor], texts: Sequence[str], audio_ids: Any) -> list[str]:
    n = len(clips)
    if n != len(texts):
        raise ValueError(f"clips has {n} entries but texts has {len(texts)}")
    if n < 2:
        raise ValueError(f"clips: need at least 2 pairs for a contrastive loss, got {n}")
    audio_ids = list(audio_ids) if audio_ids is not None else [str(i) for i in range(n)]
    if len(audio_ids) != n:
        raise ValueError(f"audio_ids has {len(audio_ids)} entries, expected {n}")
    return audio_ids


def fit_contrastive(
    model: TinyClap,
    clips: Sequence[Tensor],
    texts: Sequence[str],
    audio_ids: Sequence[str] | None = None,
    *,
    seed: int = 0,
    num_epochs: int = PRETRAIN_DEFAULTS["num_epochs"],
    lr: float = PRETRAIN_DEFAULTS["lr"],
    batch_size: int = PRETRAIN_DEFAULTS["batch_size"],
    weight_decay: float = PRETRAIN_DEFAULTS["weight_decay"],
    warmup_epochs: int = PRETRAIN_DEFAULTS["warmup_epochs"],
    max_shift_seconds: float = PRETRAIN_DEFAULTS["max_shift_seconds"],
    freq_mask: int = PRETRAIN_DEFAULTS["freq_mask"],
    time_mask_fraction: float = PRETRAIN_DEFAULTS["time_mask_fraction"],
    word_dropout: float = PRETRAIN_DEFAULTS["word_dropout"],
    progress: bool | None = None,
) -> list[float]:
    """Train ``model`` in place with symmetric InfoNCE on N (clip, caption) pairs.

    Parameters
    ----------
    model : TinyClap
    clips : sequence of N Tensors (T_i,)
        Waveforms at ``model.sample_rate``.
    texts : sequence of N str
    audio_ids : sequence of N str, optional
        Clip identities for the false-negative mask (default: each clip distinct); captions are
        identified by their text.
    seed : int
        Seeds batch order, augmentation and dropout (the caller's RNG states are restored).
    num_epochs, lr, batch_size, weight_decay, warmup_epochs : training schedule
        AdamW; linear warm-up over ``warmup_epochs`` then cosine decay to 0 (per step).
    max_shift_seconds, freq_mask, time_mask_fraction : augmentation
        Random circular shift of the waveform by up to +-``max_shift_seconds``; one frequency
        mask of up to ``freq_mask`` mel bins and one time mask of up to ``time_mask_fraction``
        of the frames per clip; each caption word is dropped with probability
        ``word_dropout``.
    progress : bool or None
        A progress bar (None: when stderr is a terminal).

    Returns
    -------
    list of float
        Mean training loss of each epoch.
    """
    audio_ids = _check_pairs(clips, texts, audio_ids)
    n, texts = len(clips), list(texts)
    gen = torch.Generator().manual_seed(seed)
    augment = _Augment(
        model.cfg.num_samples, int(max_shift_seconds * model.sample_rate), freq_mask,
        time_mask_fraction, word_dropout, gen,
    )  # fmt: skip
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    total_steps = steps_per_epoch * num_epochs
    lr_at = warmup_cosine(lr, min(warmup_epochs * steps_per_epoch, total_steps // 2), total_steps)
    params = model.trainable_parameters("all")
    optimizer = adamw(params, lr, weight_decay)

    def batch_loss(idx: Sequence[int], _: Any) -> Tensor:
        audio_emb, text_emb = augment.embed(model, [clips[i] for i in idx], [texts[i] for i in idx])
        mask = losses.false_negative_mask([audio_ids[i] for i in idx], [texts[i] for i in idx])
        return losses.sce(audio_emb, text_emb, model.logit_scale, mask=mask.to(model.device))

    history: list[float] = []
    step = 0
    bar = progress_bar(
        range(num_epochs), progress=progress, desc="tiny CLAP pre-training", unit="epoch"
    )
    with isolated_rngs(model.device, seed):
        for _epoch in bar:
            batches = make_batches(n, batch_size, torch.randperm(n, generator=gen).tolist())
            loss, step, _ = train_epoch(
                model, batches, batch_loss, optimizer, params, lr_at=lr_at, step=step,
                clip_grad_norm=1.0, desc="tiny CLAP pre-training",
            )  # fmt: skip
            history.append(loss)
            bar.set_postfix(loss=f"{loss:.3f}", scale=f"{float(model.logit_scale.detach()):.1f}")
    model.eval()
    return history


@torch.no_grad()
def _embed_pairs(
    model: TinyClap, clips: Sequence[Tensor], texts: Sequence[str], batch_size: int = 64
) -> tuple[Tensor, Tensor]:
    model.eval()
    audio, text = [], []
    for i in range(0, len(clips), batch_size):
        audio.append(model.embed_audio(list(clips[i : i + batch_size])))
        text.append(model.embed_text(list(texts[i : i + batch_size])))
    return torch.cat(audio), torch.cat(text)


def pretrain(
    world_root: str | os.PathLike,
    config: TinyConfig | None = None,
    seed: int = 0,
    num_epochs: int = PRETRAIN_DEFAULTS["num_epochs"],
    lr: float = PRETRAIN_DEFAULTS["lr"],
    batch_size: int = PRETRAIN_DEFAULTS["batch_size"],
    *,
    progress: bool | None = None,
    **train_kwargs: Any,
) -> TinyClap:
    """Pre-train a tiny CLAP on a world's natural TRAIN-split pairs (symmetric InfoNCE).

    Parameters
    ----------
    world_root : path-like
        A root in RELATE's layout (``scores/REL.csv`` plus audio at ``root/wavname``).
    config : TinyConfig, optional
        Architecture (default :class:`TinyConfig`); ``init_seed`` seeds the initial weights.
    seed : int
        Seeds batch order, augmentation and dropout.
    num_epochs, lr, batch_size, **train_kwargs
        See :func:`fit_contrastive`.
    progress : bool or None
        A progress bar (None: when stderr is a terminal).

    Returns
    -------
    TinyClap
        In eval mode, ``spec = "tiny"``; ``config["provenance"]`` records the world
        fingerprint, the recipe, the final loss, wall time and retrieval recall@1/5 on the
        natural validation and test pairs.
    """
    cfg = config or TinyConfig()
    root = Path(world_root)
    train = natural_pairs(root, "train")
    if len(train) < 2:
        raise ValueError(f"{root}: only {len(train)} natural train pairs; cannot pre-train")
    start = time.perf_counter()
    clips = read_clips(root, train["wavname"].tolist(), cfg.sample_rate)
    model = TinyClap(cfg, spec="tiny")
    history = fit_contrastive(
        model,
        clips,
        train["text"].tolist(),
        train["wavname"].tolist(),
        seed=seed,
        num_epochs=num_epochs,
        lr=lr,
        batch_size=batch_size,
        progress=progress,
        **train_kwargs,
    )
    seconds = time.perf_counter() - start
    provenance: dict[str, Any] = {
        "world_fingerprint": world_fingerprint(root),
        "recipe": {
            "seed": seed,
            "num_epochs": num_epochs,
            "lr": lr,
            "batch_size": batch_size,
            **train_kwargs,
            "version": PRETRAIN_VERSION,
        },
        "num_train_pairs": len(train),
        "final_train_loss": history[-1],
        "train_seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    for split in ("validation", "test"):
        pairs = natural_pairs(root, split)
        if len(pairs) >= 2:
            held = read_clips(root, pairs["wavname"].tolist(), cfg.sample_rate)
            audio_emb, text_emb = _embed_pairs(model, held, pairs["text"].tolist())
            provenance[f"retrieval_{split}"] = retrieval_at_k(audio_emb, text_emb, ks=(1, 5))
    model.provenance = provenance
    log.info("tiny CLAP pre-trained on %d pairs in %.1f s", len(train), seconds)
    return model
