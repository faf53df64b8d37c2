""":class:`HfClap`: transformers' ``ClapModel`` behind the
:class:`~humanclap.models.base.ClapModel` interface, and its ``save_pretrained`` folders."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from humanclap.audio import as_clips
from humanclap.models.base import ClapModel, as_texts
from humanclap.models.hf.config import (
    LONG_CLIPS,
    SETTINGS_FILE,
    as_clap_config,
    check_clap_config,
    clap_arch,
    feature_extractor_settings,
    make_feature_extractor,
    primitive,
)
from humanclap.models.hf.features import clip_features, pooled
from humanclap.models.hf.vocab import tokenizer_for, vocab_name
from humanclap.utils import atomic_folder

__all__ = ["HfClap"]


class HfClap(ClapModel):
    """transformers' ``ClapModel`` (HTS-AT + RoBERTa), 48 kHz, 10 s clips, D = projection dim.

    Parameters
    ----------
    clap : transformers.ClapModel
    feature_extractor : transformers.ClapFeatureExtractor
        Its truncation must fit the model: ``"fusion"`` for ``enable_fusion=True``, else
        ``"rand_trunc"``.
    tokenizer : transformers tokenizer
        roberta-base's vocabulary (or humanclap's GPT-2 fallback, for random weights).
    spec : str
    provenance : dict, optional
        Where the weights came from (kept in :attr:`config`, not in the fingerprint).
    fuse_short_clips : bool
        Mark clips of at most 10 s as ``is_longer`` for fusion models (module doc).
    max_text_tokens : int, optional
        Captions are truncated to this many tokens (default: ``max_position_embeddings - 2``,
        512 for RoBERTa).

    Attributes
    ----------
    clap : transformers.ClapModel
        ``clap.state_dict()`` is transformers' key layout (ours adds the prefix ``clap.``).
    feature_extractor, tokenizer
    """

    backend = "hf"
    sample_rate = 48_000
    max_seconds = 10.0
    embed_dim = 512

    def __init__(
        self,
        clap: nn.Module,
        feature_extractor: Any,
        tokenizer: Any,
        spec: str = "hf:random",
        *,
        provenance: dict[str, Any] | None = None,
        fuse_short_clips: bool = True,
        max_text_tokens: int | None = None,
    ) -> None:
        super().__init__(spec)
        from transformers import ClapModel as TransformersClap  # lazy: transformers is slow

        if not isinstance(clap, TransformersClap):
            raise TypeError(f"clap: expected a transformers ClapModel, got {type(clap).__name__}")
        check_clap_config(clap.config)
        self.clap = clap
        self._fe_settings = feature_extractor_settings(feature_extractor)
        self.feature_extractor = feature_extractor
        fusion = bool(clap.config.audio_config.enable_fusion)
        if fusion != (self._fe_settings["truncation"] == "fusion"):
            raise ValueError(
                f"feature extractor truncation {self._fe_settings['truncation']!r} does not fit a "
                f"ClapModel with enable_fusion={fusion} (use 'fusion' for fusion models, "
                "'rand_trunc' otherwise)"
            )
        bins = clap.config.audio_config.num_mel_bins
        if self._fe_settings["feature_size"] != bins:
            raise ValueError(
                f"feature extractor: feature_size {self._fe_settings['feature_size']} != the "
                f"audio tower's num_mel_bins {bins}"
            )
        self._vocab = vocab_name(tokenizer)
        rows = clap.text_model.embeddings.word_embeddings.num_embeddings
        if len(tokenizer) > rows:
            raise ValueError(
                f"tokenizer has {len(tokenizer)} tokens, more than the text tower's {rows} rows"
            )
        tokenizer.humanclap_vocab = self._vocab  # as humanclap.models.tokenizer labels them
        self.tokenizer = tokenizer
        limit = int(clap.config.text_config.max_position_embeddings) - 2
        max_text_tokens = limit if max_text_tokens is None else int(max_text_tokens)
        if not 2 <= max_text_tokens <= limit:
            raise ValueError(f"max_text_tokens: expected 2..{limit}, got {max_text_tokens}")
        self.max_text_tokens = max_text_tokens
        self.fuse_short_clips = bool(fuse_short_clips)
        self._provenance = primitive(dict(provenance or {}))
        self.sample_rate = int(self._fe_settings["sampling_rate"])
        self.max_seconds = float(self._fe_settings["max_length_s"])
        self.embed_dim = int(clap.config.projection_dim)

    # ------------------------------------------------------------------ interface
    @property
    def config(self) -> dict[str, Any]:
        arch = {
            "clap": clap_arch(self.clap.config),
            "feature_extractor": dict(self._fe_settings),
            "tokenizer": self._vocab,
            "tokenizer_size": len(self.tokenizer),
            "max_text_tokens": self.max_text_tokens,
            "fuse_short_clips": self.fuse_short_clips,
            "long_clips": LONG_CLIPS,
        }
        return {"arch": arch, "provenance": dict(self._provenance)}

    @classmethod
    def from_config(cls, spec: str, config: dict[str, Any]) -> HfClap:
        """Rebuild the architecture (random weights) offline; the tokenizer is found by
        :func:`~humanclap.models.tokenizer.roberta_tokenizer` (roberta-base) or is the GPT-2
        fallback, as the saved model used."""
        if not isinstance(config, dict) or not isinstance(config.get("arch"), dict):
            raise ValueError("config: expected a dict with an 'arch' dict")
        arch = config["arch"]
        missing = [
            k
            for k in ("clap", "feature_extractor", "tokenizer", "max_text_tokens")
            if k not in arch
        ]
        if missing:
            raise ValueError(f"config['arch']: missing {missing}")
        if arch.get("long_clips", LONG_CLIPS) != LONG_CLIPS:
            raise ValueError(
                f"config['arch']['long_clips'] = {arch['long_clips']!r}: saved by another version "
                f"(this one crops long clips as {LONG_CLIPS!r})"
            )
        from transformers import ClapModel as TransformersClap  # lazy: transformers is slow

        clap_config = as_clap_config(arch["clap"])
        check_clap_config(clap_config)
        clap = TransformersClap(clap_config)
        tokenizer, _ = tokenizer_for(arch["tokenizer"])
        size = arch.get("tokenizer_size")
        if size is not None and len(tokenizer) != size:
            raise ValueError(
                f"tokenizer found has {len(tokenizer)} tokens, the saved model's had {size}"
            )
        return cls(
            clap,
            make_feature_extractor(arch["feature_extractor"]),
            tokenizer,
            spec,
            provenance=config.get("provenance"),
            fuse_short_clips=bool(arch.get("fuse_short_clips", True)),
            max_text_tokens=int(arch["max_text_tokens"]),
        )

    @property
    def provenance(self) -> dict[str, Any]:
        """Where the weights came from (the dict itself: :func:`humanclap.train.finetune` adds
        its ``"finetune"`` note to a fine-tuned copy); kept by :meth:`save` and
        :meth:`save_pretrained`, not part of the fingerprint."""
        return self._provenance

    @property
    def logit_scale(self) -> Tensor:
        """``exp(logit_scale_a)``, the audio-side temperature (as LAION-CLAP uses for both)."""
        return self.clap.logit_scale_a.exp()

    def tower_blocks(self) -> dict[str, list[nn.Module]]:
        """HTS-AT: [mel batch norm + patch embedding (+ fusion), stage 1, 2, 3, stage 4 + final
        norm]; RoBERTa: [embeddings, layers 0..n-2, layer n-1 + pooler]."""
        audio = self.clap.audio_model.audio_encoder
        stages = list(audio.layers)
        text = self.clap.text_model
        layers = list(text.encoder.layer)
        return {
            "audio": [
                nn.ModuleList([audio.batch_norm, audio.patch_embed]),
                *stages[:-1],
                nn.ModuleList([stages[-1], audio.norm]),
            ],
            "text": [text.embeddings, *layers[:-1], nn.ModuleList([layers[-1], text.pooler])],
        }

    def head_parameters(self) -> list[nn.Parameter]:
        """Audio and text projections, ``logit_scale_a`` and ``logit_scale_t``."""
        return [
            *self.clap.audio_projection.parameters(),
            *self.clap.text_projection.parameters(),
            self.clap.logit_scale_a,
            self.clap.logit_scale_t,
        ]

    @property
    def long_clips(self) -> str:
        """``"fusion"`` for fusion models (the whole clip, shrunk, plus three chunks: module
        doc), else ``"first window"`` (``"rand_trunc"`` with the first window)."""
        return "fusion" if self._fe_settings["truncation"] == "fusion" else "first window"

    # ------------------------------------------------------------------ embeddings
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each caption, special tokens included, before the cut to
        :attr:`max_text_tokens`."""
        tokens = self.tokenizer(as_texts(texts), truncation=False, verbose=False)
        return [len(ids) for ids in tokens["input_ids"]]

    def embed_text(self, texts: Sequence[str]) -> Tensor:
        """Captions -> Tensor (B, D), L2-normalised (``padding=True``, at most
        :attr:`max_text_tokens` tokens, ``get_text_features``)."""
        texts = as_texts(texts)
        tokens = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_text_tokens,
            return_tensors="pt",
        )
        out = self.clap.get_text_features(
            input_ids=tokens["input_ids"].to(self.device),
            attention_mask=tokens["attention_mask"].to(self.device),
        )
        return F.normalize(pooled(out), dim=-1)

    def clip_features(self, wave: Tensor | np.ndarray) -> tuple[np.ndarray, bool]:
        """One clip at :attr:`sample_rate` -> (``input_features`` of shape (C, frames, mel_bins),
        float32, C = 4 for fusion else 1; ``is_longer``).

        transformers' ``ClapFeatureExtractor`` on one clip (float64), with the random choices
        replaced by fixed ones (:func:`humanclap.models.hf.features.clip_features`).
        """
        return clip_features(self.feature_extractor, self._fe_settings, self.fuse_short_clips, wave)

    def embed_audio(self, audio: Tensor | Sequence[Tensor]) -> Tensor:
        """Waveforms at 48 kHz -> Tensor (B, D), L2-normalised, differentiable in the weights.

        Parameters
        ----------
        audio : Tensor (B, T) float32, or a sequence of B tensors (T_i,)
            Clips shorter than 10 s are padded as the feature extractor says (``"repeatpad"``:
            repeated, then zero-padded); longer ones as in the module doc.
        """
        clips = as_clips(audio)
        feats = [self.clip_features(clip) for clip in clips]
        dtype = self.clap.logit_scale_a.dtype
        input_features = torch.from_numpy(np.stack([mel for mel, _ in feats])).to(
            self.device, dtype
        )
        is_longer = torch.tensor([[longer] for _, longer in feats], device=self.device)
        out = self.clap.get_audio_features(input_features=input_features, is_longer=is_longer)
        return F.normalize(pooled(out), dim=-1)

    # ------------------------------------------------------------------ transformers format
    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write transformers' format: ``config.json`` + ``model.safetensors`` (``ClapModel``),
        ``preprocessor_config.json`` (read by transformers 4), the tokenizer files and
        ``processor_config.json`` (``ClapProcessor``, transformers 5), plus ``humanclap.json``
        (``fuse_short_clips``, ``max_text_tokens``, spec, provenance). ``load("hf:<folder>")``
        reloads it; transformers users load it with ``ClapModel.from_pretrained(folder)`` /
        ``ClapProcessor.from_pretrained(folder)``.

        Written to a temporary folder beside ``folder``, then moved into place (an existing
        ``folder`` is replaced): :func:`humanclap.utils.atomic_folder`.
        """
        from transformers import ClapProcessor  # lazy: transformers takes seconds to import

        folder = Path(folder)
        if folder.is_file() or folder.is_symlink():
            raise FileExistsError(f"{folder}: exists and is not a folder")
        with atomic_folder(folder, overwrite=True) as tmp:
            self.clap.save_pretrained(tmp)
            ClapProcessor(
                feature_extractor=self.feature_extractor, tokenizer=self.tokenizer
            ).save_pretrained(tmp)
            self.feature_extractor.save_pretrained(tmp)  # preprocessor_config.json (transformers 4)
            settings = {
                "spec": self.spec,
                "fuse_short_clips": self.fuse_short_clips,
                "max_text_tokens": self.max_text_tokens,
                "tokenizer": self._vocab,
                "long_clips": LONG_CLIPS,
                "provenance": self._provenance,
            }
            (tmp / SETTINGS_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")
        return folder
