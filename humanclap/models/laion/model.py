""":class:`LaionClap`: laion_clap's own ``CLAP`` module behind the
:class:`~humanclap.models.base.ClapModel` interface, and its LAION-format weights."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from humanclap.audio import as_clips
from humanclap.models.base import ClapModel, as_texts
from humanclap.models.laion.arch import normalise_arch, strip_module_prefix
from humanclap.models.laion.library import roberta_base_text_branch
from humanclap.models.laion.preprocess import CLIP_SAMPLES, SAMPLE_RATE, audio_features
from humanclap.models.tokenizer import (
    GPT2_BPE,
    MIN_VOCAB_SIZE,
    TokenizerVocabError,
    gpt2_bpe_tokenizer,
    roberta_tokenizer,
)
from humanclap.utils import atomic_torch_save

__all__ = ["MAX_TEXT_LENGTH", "LaionClap"]

#: Captions are padded and truncated to this many tokens (laion's tokenisation).
MAX_TEXT_LENGTH = 77
_ROBERTA_VOCAB = 50_265
_FRONTEND = ("audio_branch.spectrogram_extractor.", "audio_branch.logmel_extractor.")
_OPTIONAL_BUFFERS = ("text_branch.embeddings.position_ids", "text_branch.embeddings.token_type_ids")


def _tokenizer_for(vocab: str) -> Any:
    return gpt2_bpe_tokenizer() if vocab == GPT2_BPE else roberta_tokenizer()


class LaionClap(ClapModel):
    """LAION-CLAP (HTS-AT audio encoder, RoBERTa text encoder), 48 kHz, 10 s, D = 512.

    Parameters
    ----------
    arch : dict
        ``amodel`` (``"HTSAT-tiny"``, ``"HTSAT-base"``, ``"HTSAT-large"``,
        ``"HTSAT-tiny-win-1536"``), ``tmodel`` (``"roberta"``), ``fusion`` (bool),
        ``fusion_type`` (``"aff_2d"`` for laion's fusion checkpoints), ``tokenizer``
        (``"roberta-base"`` or ``"gpt2-bpe"``, see :mod:`humanclap.models.tokenizer`),
        ``long_clips`` (``"first"``). See :func:`~humanclap.models.laion.arch.normalise_arch`.
    spec : str
    provenance : dict, optional
        Where the weights came from (kept in :attr:`config`, not in the fingerprint).
    tokenizer : transformers tokenizer, optional
        Default: found by :func:`~humanclap.models.tokenizer.roberta_tokenizer` (or the GPT-2 BPE
        one when ``arch["tokenizer"] == "gpt2-bpe"``).

    Attributes
    ----------
    clap : nn.Module
        laion_clap's ``CLAP`` module; ``clap.state_dict()`` is LAION's key layout.
    tokenizer
        The transformers tokenizer.
    audio_cfg : dict
        laion's ``audio_cfg`` of the model (sample rate, STFT and mel settings).
    """

    backend = "laion"
    sample_rate = SAMPLE_RATE
    max_seconds = CLIP_SAMPLES / SAMPLE_RATE
    embed_dim = 512
    max_text_tokens = MAX_TEXT_LENGTH

    def __init__(
        self,
        arch: dict[str, Any],
        spec: str = "laion:random",
        *,
        provenance: dict[str, Any] | None = None,
        tokenizer: Any = None,
    ) -> None:
        super().__init__(spec)
        arch = normalise_arch(arch)
        if tokenizer is None:
            tokenizer = _tokenizer_for(arch["tokenizer"])
        if not MIN_VOCAB_SIZE <= len(tokenizer) <= _ROBERTA_VOCAB:
            raise TokenizerVocabError(
                f"tokenizer has {len(tokenizer)} tokens; LAION-CLAP's RoBERTa needs between "
                f"{MIN_VOCAB_SIZE:,} and {_ROBERTA_VOCAB:,} (roberta-base's vocabulary)"
            )
        self.tokenizer = tokenizer
        self._arch = arch
        self._provenance = dict(provenance or {})
        with roberta_base_text_branch() as cm, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"torch\.meshgrid", category=UserWarning)
            kwargs: dict[str, Any] = {"enable_fusion": arch["fusion"]}
            if arch["fusion"]:
                kwargs["fusion_type"] = arch["fusion_type"]
            clap, model_cfg = cm.create_model(
                arch["amodel"], arch["tmodel"], precision="fp32", device="cpu", **kwargs
            )
        self.clap = clap
        self.audio_cfg: dict[str, Any] = dict(model_cfg["audio_cfg"])

    # ------------------------------------------------------------------ interface
    @property
    def config(self) -> dict[str, Any]:
        return {"arch": dict(self._arch), "provenance": dict(self._provenance)}

    @classmethod
    def from_config(cls, spec: str, config: dict[str, Any]) -> LaionClap:
        if not isinstance(config, dict) or "arch" not in config:
            raise ValueError("config: expected a dict with 'arch'")
        return cls(config["arch"], spec, provenance=config.get("provenance"))

    @property
    def logit_scale(self) -> Tensor:
        """``exp(logit_scale_a)``, LAION's audio-side temperature."""
        return self.clap.logit_scale_a.exp()

    def tower_blocks(self) -> dict[str, list[nn.Module]]:
        """HTS-AT: [mel norm + patch embedding (+ fusion), stage 1, 2, 3, stage 4 + final norm];
        RoBERTa: [embeddings, layers 0..10, layer 11 + pooler]."""
        audio = self.clap.audio_branch
        stem = [audio.bn0, audio.patch_embed]
        stem += [getattr(audio, n) for n in ("mel_conv1d", "fusion_model") if hasattr(audio, n)]
        layers = list(audio.layers)
        text = self.clap.text_branch
        encoder = list(text.encoder.layer)
        return {
            "audio": [nn.ModuleList(stem), *layers[:-1], nn.ModuleList([layers[-1], audio.norm])],
            "text": [text.embeddings, *encoder[:-1], nn.ModuleList([encoder[-1], text.pooler])],
        }

    def head_parameters(self) -> list[nn.Parameter]:
        """Audio and text projections and ``logit_scale_a``."""
        return [
            *self.clap.audio_projection.parameters(),
            *self.clap.text_projection.parameters(),
            self.clap.logit_scale_a,
        ]

    def trainable_parameters(self, trainable: str = "all") -> list[nn.Parameter]:
        """As :meth:`ClapModel.trainable_parameters`, but the fixed STFT and mel filter bank
        (parameters in laion's state dict, frozen by laion) always stay frozen."""
        chosen = super().trainable_parameters(trainable)
        fixed = {
            id(p)
            for name, p in self.named_parameters()
            if name.removeprefix("clap.").startswith(_FRONTEND)
        }
        for p in self.parameters():
            if id(p) in fixed:
                p.requires_grad_(False)
        return [p for p in chosen if id(p) not in fixed]

    @property
    def long_clips(self) -> str:
        """``"fusion"`` for fusion models (the whole clip, shrunk, plus three 10 s chunks), else
        ``"first window"`` (the first 10 s)."""
        return "fusion" if self._arch["fusion"] else "first window"

    # ------------------------------------------------------------------ embeddings
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """RoBERTa BPE tokens of each caption, ``<s>`` and ``</s>`` included, before the cut to
        :data:`MAX_TEXT_LENGTH`."""
        tokens = self.tokenizer(as_texts(texts), truncation=False, verbose=False)
        return [len(ids) for ids in tokens["input_ids"]]

    def embed_text(self, texts: Sequence[str]) -> Tensor:
        """Captions -> Tensor (B, 512), L2-normalised (laion's tokenisation, max 77 tokens)."""
        texts = as_texts(texts)
        tokens = self.tokenizer(
            texts,
            padding="max_length",
            truncation=True,
            max_length=MAX_TEXT_LENGTH,
            return_tensors="pt",
        )
        data = {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}
        return self.clap.get_text_embedding(data)

    def audio_features(self, wave: Tensor) -> dict[str, Tensor]:
        """One clip (T,) at 48 kHz -> laion's input dict (``waveform``, ``longer``[, ``mel_fusion``]).

        See :func:`humanclap.models.laion.preprocess.audio_features`.
        """
        wave = wave.to(self.device, torch.float32)
        return audio_features(wave, self.audio_cfg, self._arch["fusion"])

    def embed_audio(self, audio: Tensor | Sequence[Tensor]) -> Tensor:
        """Waveforms at 48 kHz -> Tensor (B, 512), L2-normalised, differentiable in the weights.

        Parameters
        ----------
        audio : Tensor (B, T) float32, or a sequence of B tensors (T_i,)
            Samples in [-1, 1] (clipped, then int16-quantised as laion does). Clips shorter than
            10 s are repeat-padded, longer ones cropped to their first 10 s.
        """
        clips = as_clips(audio)
        return self.clap.get_audio_embedding([self.audio_features(clip) for clip in clips])

    # ------------------------------------------------------------------ LAION format
    def laion_state_dict(self) -> dict[str, Tensor]:
        """``clap.state_dict()`` (LAION's key layout) with CPU tensors and ``position_ids``."""
        state = {k: v.detach().to("cpu").clone() for k, v in self.clap.state_dict().items()}
        positions = self.clap.text_branch.embeddings.position_embeddings.num_embeddings
        # laion_clap's loader deletes this key unconditionally: it must be present
        state.setdefault(_OPTIONAL_BUFFERS[0], torch.arange(positions).expand((1, -1)).clone())
        return state

    def load_laion_state_dict(self, state: dict[str, Tensor], where: str = "state_dict") -> None:
        """Load weights in LAION's key layout (``module.`` prefix and ``position_ids`` optional).

        Raises ValueError naming ``where`` and the missing/unexpected keys when they do not fit.
        """
        own = self.clap.state_dict()
        state = strip_module_prefix(state)
        for key in _OPTIONAL_BUFFERS:
            if key in state and key not in own:
                del state[key]  # stored by transformers < 4.31, a non-persistent buffer since
            elif key not in state and key in own:
                state[key] = own[key]
        try:
            self.clap.load_state_dict(state, strict=True)
        except RuntimeError as err:
            missing = sorted(set(own) - set(state))
            unexpected = sorted(set(state) - set(own))
            raise ValueError(
                f"{where}: weights do not fit laion's {self._arch['amodel']} CLAP (missing keys "
                f"{missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected "
                f"{unexpected[:5]}{'...' if len(unexpected) > 5 else ''}): {str(err)[:500]}"
            ) from err

    def save_laion(self, path: str | os.PathLike) -> Path:
        """Write LAION's checkpoint format, ``{"state_dict": {"module." + key: tensor}, ...}``.

        laion_clap users load it with ``CLAP_Module(enable_fusion=..., amodel=...).load_ckpt
        (path)``; :func:`humanclap.models.load` reads it back (the extra key ``"humanclap"``,
        which laion ignores, keeps the spec and config, e.g. which tokenizer). Atomic.
        """
        state = {"module." + k: v for k, v in self.laion_state_dict().items()}
        meta = {"spec": self.spec, "config": self.config}
        return atomic_torch_save({"state_dict": state, "epoch": 0, "humanclap": meta}, path)
