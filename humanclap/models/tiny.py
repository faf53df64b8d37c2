"""The "tiny" CLAP: a small dual encoder that trains in minutes on a CPU.

Architecture (defaults of :class:`TinyConfig`)
----------------------------------------------
Audio: waveform (16 kHz) -> padded/cropped to ``max_seconds`` -> log-mel (:class:`LogMel`,
64 mels, 32 ms window, 20 ms hop) -> per-clip standardisation (zero mean, unit variance over the
whole spectrogram, so the embedding ignores overall gain) -> 4 conv blocks (3x3 conv, GroupNorm,
GELU, stride 2 in mel and time; 16/32/64/128 channels) -> mean over frequency -> temporal pooling:
mean and max over time plus the means of ``time_segments`` = 4 consecutive segments (these keep
the *order* of events) -> audio head (LayerNorm, Linear, GELU, Linear) -> ``D`` = 128.

Text: lower-case word tokens (``[a-z0-9]+``, apostrophes kept inside words), each hashed with
``zlib.crc32`` into ``vocab_buckets`` = 4096 buckets (ids 2..; 0 = padding, 1 = a start token
that every caption gets, so an empty caption still has one token), at most ``max_tokens`` = 32
tokens (longer captions are truncated) -> token + learned position embeddings -> 2 pre-norm
transformer encoder layers (4 heads) -> masked mean over tokens -> text head (LayerNorm,
Linear, GELU, Linear) -> ``D``. Positions make word order representable: "a dog barks followed
by a siren" and its reverse get different embeddings even untrained (tested). Hash collisions
merge words: of the default synthetic world's 159 caption words 8 share a bucket with another
(RELATE's real captions have 1,370 words, of which 380 would).

Length: a clip longer than ``max_seconds`` is cropped to its first ``max_seconds`` (a random
window during pre-training); a shorter one is filled by repeating it ("repeatpad" as in
LAION-CLAP), so no artificial silence enters the spectrogram. Pass a list of 1-D tensors to
:meth:`TinyClap.embed_audio` when clips differ in length.

Pre-training (:func:`pretrain`): symmetric InfoNCE (:func:`humanclap.losses.sce`, with the
false-negative mask) on the NATURAL (``source == "audiocaps"``) TRAIN-split pairs of a world,
AdamW with warm-up and cosine decay, augmentation by a random circular time shift (up to
``max_shift_seconds``) and SpecAugment-style frequency and time masks. A random gain is not used:
the per-clip standardisation removes it exactly.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from humanclap import losses
from humanclap.models.base import ClapModel, pad_or_crop, retrieval_at_k, stable_hash
from humanclap.models.frontend import LogMel

__all__ = [
    "PRETRAIN_DEFAULTS",
    "TinyClap",
    "TinyConfig",
    "fit_contrastive",
    "load_pretrained",
    "natural_pairs",
    "pretrain",
    "read_clips",
    "tokenize",
    "world_fingerprint",
]

log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
PAD_ID, BOS_ID, FIRST_WORD_ID = 0, 1, 2

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


# ----------------------------------------------------------------------------- config
@dataclass(frozen=True)
class TinyConfig:
    """Architecture of :class:`TinyClap` (all fields are primitives; see module doc)."""

    sample_rate: int = 16_000
    max_seconds: float = 4.0
    n_fft: int = 512
    hop_length: int = 320
    n_mels: int = 64
    f_min: float = 0.0
    f_max: float = 8_000.0
    channels: tuple[int, ...] = (16, 32, 64, 128)
    time_segments: int = 4
    vocab_buckets: int = 4096
    max_tokens: int = 32
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 2
    ff_dim: int = 256
    dropout: float = 0.1
    head_dim: int = 256
    embed_dim: int = 128
    init_logit_scale: float = 1.0 / 0.07
    init_seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if self.d_model % self.n_heads:
            raise ValueError(
                f"TinyConfig: d_model={self.d_model} is not divisible by n_heads={self.n_heads}"
            )
        min_samples = self.hop_length * (2 ** len(self.channels)) * self.time_segments
        if self.sample_rate * self.max_seconds < min_samples:
            raise ValueError(
                f"TinyConfig: max_seconds={self.max_seconds} is too short for "
                f"{len(self.channels)} pooling blocks and {self.time_segments} "
                f"segments (need >= {min_samples / self.sample_rate:.3f} s)"
            )

    @property
    def num_samples(self) -> int:
        """Samples per clip after padding/cropping: ``round(sample_rate * max_seconds)``."""
        return int(round(self.sample_rate * self.max_seconds))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["channels"] = list(self.channels)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TinyConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"TinyConfig: unknown field(s) {unknown}; valid: {sorted(names)}")
        return cls(**values)


# ----------------------------------------------------------------------------- text
def tokenize(
    texts: Sequence[str], vocab_buckets: int = 4096, max_tokens: int = 32
) -> tuple[Tensor, Tensor]:
    """Hash-tokenise captions (no vocabulary file).

    Parameters
    ----------
    texts : sequence of B str
    vocab_buckets : int
        Word ids are ``2 + crc32(word) % vocab_buckets``.
    max_tokens : int
        Length including the start token; longer captions are truncated.

    Returns
    -------
    ids : LongTensor, shape (B, L)
        ``L`` = the longest tokenised caption in the batch (<= ``max_tokens``); 0 = padding.
    mask : BoolTensor, shape (B, L)
        True at real tokens.
    """
    if isinstance(texts, str):
        raise TypeError("texts: expected a sequence of strings, got a single str")
    rows = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}]: expected str, got {type(text).__name__}")
        words = _WORD.findall(text.lower())
        ids = [BOS_ID] + [
            FIRST_WORD_ID + zlib.crc32(w.encode("utf-8")) % vocab_buckets for w in words
        ]
        rows.append(ids[:max_tokens])
    if not rows:
        raise ValueError("texts: empty batch")
    length = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), length, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return ids, ids != PAD_ID


class TextEncoder(nn.Module):
    """Token ids (B, L) -> pooled features (B, d_model)."""

    def __init__(self, cfg: TinyConfig) -> None:
        super().__init__()
        self.token = nn.Embedding(
            FIRST_WORD_ID + cfg.vocab_buckets, cfg.d_model, padding_idx=PAD_ID
        )
        self.position = nn.Embedding(cfg.max_tokens, cfg.d_model)
        self.dropout = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                cfg.d_model,
                cfg.n_heads,
                cfg.ff_dim,
                cfg.dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(cfg.n_layers)
        )
        nn.init.normal_(self.token.weight, std=0.02)
        nn.init.normal_(self.position.weight, std=0.02)
        with torch.no_grad():
            self.token.weight[PAD_ID].zero_()

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.dropout(self.token(ids) + self.position(positions)[None])
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=~mask)
        weights = mask.unsqueeze(-1).to(x.dtype)
        return (x * weights).sum(1) / weights.sum(1)


# ----------------------------------------------------------------------------- audio
class ConvBlock(nn.Module):
    """3x3 conv with stride 2 (halves mel and time) -> GroupNorm -> GELU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False)
        self.norm = nn.GroupNorm(min(8, out_channels), out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(self.norm(self.conv(x)))


class AudioEncoder(nn.Module):
    """Log-mel (B, n_mels, frames) -> pooled features (B, channels[-1] * (2 + time_segments))."""

    def __init__(self, cfg: TinyConfig) -> None:
        super().__init__()
        chans = (1, *cfg.channels)
        self.blocks = nn.ModuleList(
            ConvBlock(a, b) for a, b in zip(chans[:-1], chans[1:], strict=True)
        )
        self.time_segments = cfg.time_segments

    @staticmethod
    def standardise(logmel: Tensor) -> Tensor:
        """Zero mean, unit variance per clip (over mels and frames); a constant clip -> 0."""
        mean = logmel.mean(dim=(1, 2), keepdim=True)
        std = logmel.std(dim=(1, 2), keepdim=True, unbiased=False)
        return (logmel - mean) / (std + 1e-5)

    def forward(self, logmel: Tensor) -> Tensor:
        x = self.standardise(logmel).unsqueeze(1)  # (B, 1, M, F)
        for block in self.blocks:
            x = block(x)
        x = x.mean(dim=2)  # (B, C, F')
        segments = F.adaptive_avg_pool1d(x, self.time_segments).flatten(1)
        return torch.cat([x.mean(-1), x.amax(-1), segments], dim=1)


def _head(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(
        nn.LayerNorm(in_dim), nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, out_dim)
    )


# ----------------------------------------------------------------------------- model
class TinyClap(ClapModel):
    """Small CLAP (see the module doc). Build with ``TinyClap(config)``; ``spec`` is
    ``"tiny:random"`` for fresh weights, ``"tiny"`` once pre-trained."""

    backend = "tiny"

    def __init__(
        self,
        cfg: TinyConfig | None = None,
        spec: str = "tiny:random",
        provenance: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(spec)
        cfg = cfg or TinyConfig()
        self.cfg = cfg
        self.sample_rate = cfg.sample_rate
        self.max_seconds = float(cfg.max_seconds)
        self.embed_dim = cfg.embed_dim
        self.provenance: dict[str, Any] = dict(provenance or {})
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.init_seed)
            self.frontend = LogMel(
                cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.n_mels, cfg.f_min, cfg.f_max
            )
            self.audio_encoder = AudioEncoder(cfg)
            self.text_encoder = TextEncoder(cfg)
            audio_dim = cfg.channels[-1] * (2 + cfg.time_segments)
            self.audio_proj = _head(audio_dim, cfg.head_dim, cfg.embed_dim)
            self.text_proj = _head(cfg.d_model, cfg.head_dim, cfg.embed_dim)
            self.log_logit_scale = nn.Parameter(torch.tensor(math.log(cfg.init_logit_scale)))

    # -- interface -------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        return {"arch": self.cfg.to_dict(), "provenance": dict(self.provenance)}

    @classmethod
    def from_config(cls, spec: str, config: dict[str, Any]) -> TinyClap:
        if "arch" not in config:
            raise ValueError(f"config: missing 'arch' (got keys {sorted(config)})")
        return cls(
            TinyConfig.from_dict(config["arch"]),
            spec=spec,
            provenance=config.get("provenance") or {},
        )

    @property
    def logit_scale(self) -> Tensor:
        """``exp(log_logit_scale)``, clamped to at most 100 (as CLIP does)."""
        return self.log_logit_scale.exp().clamp(max=100.0)

    def tower_blocks(self) -> dict[str, list[nn.Module]]:
        return {"audio": list(self.audio_encoder.blocks), "text": list(self.text_encoder.layers)}

    def head_parameters(self) -> list[nn.Parameter]:
        return [*self.audio_proj.parameters(), *self.text_proj.parameters(), self.log_logit_scale]

    # -- audio -----------------------------------------------------------------
    def prepare_audio(self, audio: Tensor | Sequence[Tensor]) -> Tensor:
        """Pad/crop to ``max_seconds`` (see module doc) -> Tensor (B, num_samples) on device."""
        n = self.cfg.num_samples
        if isinstance(audio, Tensor):
            if audio.ndim != 2:
                raise ValueError(
                    f"audio: expected shape (B, T) or a list of (T,) tensors, got "
                    f"{tuple(audio.shape)}"
                )
            if audio.shape[1] >= n:
                batch = audio[:, :n]
            elif audio.shape[1] == 0:
                batch = audio.new_zeros(audio.shape[0], n)
            else:
                reps = -(-n // audio.shape[1])
                batch = audio.repeat(1, reps)[:, :n]
        else:
            clips = [torch.as_tensor(c) for c in audio]
            if not clips:
                raise ValueError("audio: empty batch")
            for i, c in enumerate(clips):
                if c.ndim != 1:
                    raise ValueError(f"audio[{i}]: expected shape (T,), got {tuple(c.shape)}")
            batch = torch.stack([pad_or_crop(c.float(), n) for c in clips])
        if not batch.is_floating_point():
            raise ValueError(f"audio: expected float waveforms in [-1, 1], got {batch.dtype}")
        return batch.to(device=self.device, dtype=torch.float32)

    def logmel(self, audio: Tensor | Sequence[Tensor]) -> Tensor:
        """Waveforms -> log-mel, shape (B, n_mels, frames)."""
        return self.frontend(self.prepare_audio(audio))

    def embed_logmel(self, logmel: Tensor) -> Tensor:
        """Log-mel (B, n_mels, frames) -> L2-normalised embeddings (B, D)."""
        return F.normalize(self.audio_proj(self.audio_encoder(logmel)), dim=-1)

    def embed_audio(self, audio: Tensor | Sequence[Tensor]) -> Tensor:
        return self.embed_logmel(self.logmel(audio))

    # -- text ------------------------------------------------------------------
    def embed_text(self, texts: Sequence[str]) -> Tensor:
        ids, mask = tokenize(texts, self.cfg.vocab_buckets, self.cfg.max_tokens)
        ids, mask = ids.to(self.device), mask.to(self.device)
        return F.normalize(self.text_proj(self.text_encoder(ids, mask)), dim=-1)


# ----------------------------------------------------------------------------- data
def world_fingerprint(world_root: str | os.PathLike) -> str:
    """The world's content fingerprint: ``world.json["fingerprint"]`` when present, else a hash
    of ``scores/REL.csv`` and the names and sizes of all WAV files under the root."""
    root = Path(world_root)
    meta = root / "world.json"
    if meta.is_file():
        try:
            value = json.loads(meta.read_text()).get("fingerprint")
        except (json.JSONDecodeError, AttributeError) as err:
            raise ValueError(f"{meta}: not a JSON object ({err})") from err
        if value:
            return str(value)
    rel = root / "scores" / "REL.csv"
    if not rel.is_file():
        raise FileNotFoundError(f"{rel}: no ratings file; is {root} a world/RELATE root?")
    wavs = sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*.wav"))
    return stable_hash({"rel": rel.read_bytes().hex(), "wavs": wavs}, length=32)


def natural_pairs(world_root: str | os.PathLike, split: str) -> Any:
    """Pairs of natural clips (``source == "audiocaps"``) in one split of a world.

    Returns the rows of :func:`humanclap.data.pair_table` (a pandas DataFrame with at least
    ``wavname``, ``text``, ``source``, ``split``, ``target``), index reset.
    """
    from humanclap.data import load_relate, pair_table

    ratings = load_relate(world_root, categories=False, download=False, verify=False)
    pairs = pair_table(ratings)
    keep = (pairs["source"] == "audiocaps") & (pairs["split"] == split)
    return pairs[keep].reset_index(drop=True)


def read_clips(
    world_root: str | os.PathLike, wavnames: Sequence[str], sample_rate: int
) -> list[Tensor]:
    """Read WAV files at ``world_root / wavname.lstrip('/')`` as float32 mono tensors (T,).

    Raises ValueError naming the file when its rate differs from ``sample_rate`` (no resampling
    here) or it is not mono.
    """
    import soundfile as sf

    root = Path(world_root)
    clips = []
    for name in wavnames:
        path = root / str(name).lstrip("/")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: audio of wavname {name!r} not found")
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        if rate != sample_rate:
            raise ValueError(f"{path}: sample rate {rate} Hz, expected {sample_rate} Hz")
        if data.shape[1] != 1:
            raise ValueError(f"{path}: {data.shape[1]} channels, expected mono")
        clips.append(torch.from_numpy(np.ascontiguousarray(data[:, 0])))
    return clips


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
    progress: bool = True,
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
        Seeds batch order, augmentation and dropout (the global RNG is left untouched).
    num_epochs, lr, batch_size, weight_decay, warmup_epochs : training schedule
        AdamW; linear warm-up over ``warmup_epochs`` then cosine decay to 0 (per step).
    max_shift_seconds, freq_mask, time_mask_fraction : augmentation
        Random circular shift of the waveform by up to +-``max_shift_seconds``; one frequency
        mask of up to ``freq_mask`` mel bins and one time mask of up to ``time_mask_fraction``
        of the frames per clip; each caption word is dropped with probability
        ``word_dropout``.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    list of float
        Mean training loss of each epoch.
    """
    from tqdm import tqdm

    n = len(clips)
    if n != len(texts):
        raise ValueError(f"clips has {n} entries but texts has {len(texts)}")
    if n < 2:
        raise ValueError(f"clips: need at least 2 pairs for a contrastive loss, got {n}")
    audio_ids = list(audio_ids) if audio_ids is not None else [str(i) for i in range(n)]
    if len(audio_ids) != n:
        raise ValueError(f"audio_ids has {len(audio_ids)} entries, expected {n}")
    texts = list(texts)
    num_samples = model.cfg.num_samples
    max_shift = int(max_shift_seconds * model.sample_rate)

    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    total_steps = steps_per_epoch * num_epochs
    warmup_steps = min(warmup_epochs * steps_per_epoch, total_steps // 2)
    params = model.trainable_parameters("all")
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=lr,
    )

    def lr_at(step: int) -> float:
        if step < warmup_steps:
            return lr * (step + 1) / warmup_steps
        progress_frac = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return lr * 0.5 * (1.0 + math.cos(math.pi * progress_frac))

    history: list[float] = []
    step = 0
    model.train()
    bar = tqdm(range(num_epochs), desc="tiny CLAP pre-training", disable=not progress, leave=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _epoch in bar:
            order = torch.randperm(n, generator=gen).tolist()
            batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
            if len(batches) > 1 and len(batches[-1]) < 2:
                batches[-2].extend(batches.pop())
            total, count = 0.0, 0
            for idx in batches:
                waves = []
                for i in idx:
                    clip = clips[i]
                    extra = clip.shape[0] - num_samples
                    offset = (
                        int(torch.randint(0, extra + 1, (1,), generator=gen)) if extra > 0 else 0
                    )
                    wave = pad_or_crop(clip, num_samples, offset=offset)
                    if max_shift > 0:
                        shift = int(torch.randint(-max_shift, max_shift + 1, (1,), generator=gen))
                        wave = torch.roll(wave, shift)
                    waves.append(wave)
                logmel = model.frontend(torch.stack(waves).to(model.device))
                time_mask = int(time_mask_fraction * logmel.shape[-1])
                logmel = _spec_augment(logmel, freq_mask, time_mask, gen)
                audio_emb = model.embed_logmel(logmel)
                text_emb = model.embed_text([_drop_words(texts[i], word_dropout, gen) for i in idx])
                mask = losses.false_negative_mask(
                    [audio_ids[i] for i in idx], [texts[i] for i in idx]
                ).to(model.device)
                loss = losses.sce(audio_emb, text_emb, model.logit_scale, mask=mask)
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                step += 1
                total += float(loss.detach()) * len(idx)
                count += len(idx)
            history.append(total / count)
            bar.set_postfix(
                loss=f"{history[-1]:.3f}", scale=f"{float(model.logit_scale.detach()):.1f}"
            )
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
    progress: bool = True,
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
    progress : bool
        tqdm progress bar.

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


def _default_world() -> Path:
    try:
        from humanclap.data.synthetic import ensure_world
    except ImportError as err:  # pragma: no cover - only while the generator is missing
        raise RuntimeError(
            "load('tiny') needs the embedded synthetic world (humanclap.data.synthetic), which "
            "is not available; pass world=<root> instead"
        ) from err
    return Path(ensure_world())


def pretrained_cache_path(
    world_root: str | os.PathLike,
    config: TinyConfig | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    **recipe: Any,
) -> Path:
    """``<cache>/models/tiny-<hash>.pt`` for this world, architecture and recipe.

    ``<cache>`` is ``cache_dir`` or :func:`humanclap.data.download.user_cache_dir`
    (``$HUMANCLAP_CACHE``, else ``$XDG_CACHE_HOME/humanclap``, else ``~/.cache/humanclap``).
    """
    from humanclap.data.download import user_cache_dir

    cfg = config or TinyConfig()
    unknown = sorted(set(recipe) - set(PRETRAIN_DEFAULTS))
    if unknown:
        raise TypeError(
            f"unknown pre-training argument(s) {unknown}; valid: {sorted(PRETRAIN_DEFAULTS)}"
        )
    full_recipe = {**PRETRAIN_DEFAULTS, **recipe, "seed": seed, "version": PRETRAIN_VERSION}
    key = stable_hash(
        {"arch": cfg.to_dict(), "recipe": full_recipe, "world": world_fingerprint(world_root)}
    )
    base = Path(cache_dir) if cache_dir is not None else user_cache_dir()
    return base / "models" / f"tiny-{key}.pt"


def load_pretrained(
    world: str | os.PathLike | None = None,
    config: TinyConfig | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **recipe: Any,
) -> TinyClap:
    """The pre-trained tiny CLAP of a world, from the cache or trained now (then cached).

    Parameters
    ----------
    world : path-like, optional
        World root; default: the embedded synthetic world
        (:func:`humanclap.data.synthetic.ensure_world`).
    config, seed, **recipe
        Architecture and pre-training recipe (defaults: :class:`TinyConfig`,
        :data:`PRETRAIN_DEFAULTS`); all enter the cache key together with the world fingerprint.
    cache_dir : path-like, optional
        Cache root (see :func:`pretrained_cache_path`).
    progress : bool
        tqdm bar while training.
    """
    root = Path(world) if world is not None else _default_world()
    path = pretrained_cache_path(root, config, seed, cache_dir, **recipe)
    if path.is_file():
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            return TinyClap.from_checkpoint(ckpt["spec"], ckpt["config"], ckpt["state_dict"])
        except Exception as err:  # noqa: BLE001 - a broken cache entry is rebuilt
            log.warning("%s: unreadable cached model (%s); training it again", path, err)
    log.info("pre-training the tiny CLAP on %s (cache: %s)", root, path)
    full = {**PRETRAIN_DEFAULTS, **recipe}
    model = pretrain(root, config, seed=seed, progress=progress, **full)
    model.save(path)
    return model
