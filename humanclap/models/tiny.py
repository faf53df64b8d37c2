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

Length: a clip longer than ``max_seconds`` is cropped to its first ``max_seconds``; a shorter
one is filled by repeating it ("repeatpad" as in LAION-CLAP), so no artificial silence enters
the spectrogram. Pass a list of 1-D tensors to :meth:`TinyClap.embed_audio` when clips differ in
length. Clips are checked as by every backend (:func:`humanclap.audio.as_clips`): empty clips,
NaN or infinite samples, and batches that are not (B, T) or a list of 1-D clips are refused.

Pre-training on the embedded world is :mod:`humanclap.train.pretrain`'s; ``load("tiny")``
returns the pre-trained model (:mod:`humanclap.pretrained`). This module is the architecture
only: it knows nothing of how the model is trained or what it is evaluated on.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from humanclap.audio import as_clips, pad_or_crop
from humanclap.models.base import ClapModel, as_texts
from humanclap.models.frontend import LogMel

__all__ = ["TinyClap", "TinyConfig", "tokenize"]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
PAD_ID, BOS_ID, FIRST_WORD_ID = 0, 1, 2


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
def _token_ids(text: str, vocab_buckets: int) -> list[int]:
    """All token ids of one caption, the start token first (before truncation)."""
    words = _WORD.findall(text.lower())
    return [BOS_ID] + [FIRST_WORD_ID + zlib.crc32(w.encode("utf-8")) % vocab_buckets for w in words]


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
    rows = [_token_ids(text, vocab_buckets)[:max_tokens] for text in as_texts(texts)]
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
        return self.encode(self.standardise(logmel))

    def encode(self, standardised: Tensor) -> Tensor:
        """Standardised log-mel (B, n_mels, frames) -> pooled features (see the class doc)."""
        return self.encode_from(standardised.unsqueeze(1), 0)

    def stem(self, standardised: Tensor, depth: int) -> Tensor:
        """Standardised log-mel (B, n_mels, frames) -> the output of the first ``depth``
        blocks, shape (B, channels[depth - 1], M', F') (depth 0: (B, 1, n_mels, frames))."""
        x = standardised.unsqueeze(1)
        for block in self.blocks[:depth]:
            x = block(x)
        return x

    def encode_from(self, hidden: Tensor, depth: int) -> Tensor:
        """The output of the first ``depth`` blocks (:meth:`stem`) -> pooled features."""
        x = hidden
        for block in self.blocks[depth:]:
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
    long_clips = "first window"

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
        self.max_feature_depth = len(cfg.channels)  # conv blocks: no dropout, GroupNorm
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
        """Check the clips (:func:`humanclap.audio.as_clips`, as every backend does), then
        pad/crop them to ``max_seconds`` (see module doc).

        Parameters
        ----------
        audio : Tensor (B, T) float, or a sequence of B tensors (T_i,)
            Waveforms at :attr:`sample_rate`; a (B, T) tensor must be floating point.

        Returns
        -------
        Tensor, shape (B, num_samples), float32, on :attr:`device`
        """
        n = self.cfg.num_samples
        clips = as_clips(audio)
        if isinstance(audio, Tensor):
            length = audio.shape[1]
            batch = audio[:, :n] if length >= n else audio.repeat(1, -(-n // length))[:, :n]
        else:
            batch = torch.stack([pad_or_crop(c.float(), n) for c in clips])
        if not batch.is_floating_point():
            raise ValueError(f"audio: expected float waveforms in [-1, 1], got {batch.dtype}")
        return batch.to(device=self.device, dtype=torch.float32)

    def logmel(self, audio: Tensor | Sequence[Tensor]) -> Tensor:
        """Waveforms -> log-mel, shape (B, n_mels, frames)."""
        return self.frontend(self.prepare_audio(audio))

    def embed_logmel(self, logmel: Tensor) -> Tensor:
        """Log-mel (B, n_mels, frames) -> L2-normalised embeddings (B, D)."""
        return self.embed_audio_features(self.audio_encoder.standardise(logmel))

    def embed_audio(self, audio: Tensor | Sequence[Tensor]) -> Tensor:
        return self.embed_logmel(self.logmel(audio))

    @property
    def audio_features_key(self) -> str:
        """The front end's identity: log-mel settings, clip length, per-clip standardisation."""
        cfg = self.cfg
        settings = (cfg.sample_rate, self.cfg.num_samples, cfg.n_fft, cfg.hop_length, cfg.n_mels,
                    cfg.f_min, cfg.f_max, self.frontend.eps)  # fmt: skip
        return "tiny-logmel-std-v2:" + ",".join(map(str, settings))

    def audio_features(self, audio: Tensor | Sequence[Tensor], depth: int = 0) -> Tensor:
        """The standardised log-mel (B, n_mels, frames): everything before the first weight
        (the front end and the standardisation have no parameters); with ``depth > 0``, the
        output of the first ``depth`` conv blocks (B, C, M', F') (what a run that freezes them
        computes once per clip; the blocks are the same in train and eval mode)."""
        features = self.audio_encoder.standardise(self.logmel(audio))
        return features if depth == 0 else self.audio_encoder.stem(features, self._depth(depth))

    def embed_audio_features(self, features: Tensor, depth: int = 0) -> Tensor:
        """Features from :meth:`audio_features` at the same ``depth`` -> L2-normalised
        embeddings (B, D); at depth 0 the same as :meth:`embed_logmel` of their log-mel."""
        hidden = features.unsqueeze(1) if depth == 0 else features
        pooled = self.audio_encoder.encode_from(hidden, self._depth(depth))
        return F.normalize(self.audio_proj(pooled), dim=-1)

    def _depth(self, depth: int) -> int:
        if not 0 <= depth <= self.max_feature_depth:
            raise ValueError(f"depth: expected 0..{self.max_feature_depth}, got {depth!r}")
        return int(depth)

    # -- text ------------------------------------------------------------------
    @property
    def max_text_tokens(self) -> int:
        """``max_tokens`` of the config (the start token included)."""
        return self.cfg.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each caption before truncation: the start token plus one per word."""
        return [len(_token_ids(text, self.cfg.vocab_buckets)) for text in as_texts(texts)]

    def embed_text(self, texts: Sequence[str]) -> Tensor:
        ids, mask = tokenize(texts, self.cfg.vocab_buckets, self.cfg.max_tokens)
        ids, mask = ids.to(self.device), mask.to(self.device)
        return F.normalize(self.text_proj(self.text_encoder(ids, mask)), dim=-1)
