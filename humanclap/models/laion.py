"""LAION-CLAP (``laion_clap`` 1.1.7) behind the :class:`~humanclap.models.base.ClapModel` interface.

Specs (see :func:`build`)
-------------------------
``"laion:<name>"``
    A released checkpoint (:data:`CHECKPOINTS`, e.g. ``"laion:630k-audioset-best"``), looked
    for in ``$HUMANCLAP_LAION_DIR`` then ``<user_cache_dir()>/laion/``; downloaded there when
    missing and online; offline, :class:`LaionCheckpointNotFoundError` at once.
``"laion:<path>"`` or just the path
    A checkpoint in LAION's format (``{"state_dict": ..., "epoch": ...}`` or a bare state dict,
    keys possibly prefixed ``module.``, with or without ``text_branch.embeddings.position_ids``).
    The HTS-AT size (tiny/base/large, window 1024/1536) and the fusion variant are read off the
    state dict. Read with ``torch.load(..., weights_only=True)`` only.
``"laion:random"`` / ``"laion:random:<seed>"``
    The architecture with random weights (``amodel="HTSAT-tiny"``, ``fusion=False`` by default),
    built offline; tokenizer from ``roberta_tokenizer(allow_gpt2=True)``.

What is reproduced from laion_clap
----------------------------------
The model is laion_clap's own ``CLAP`` module (``clap_module.model.CLAP`` made by
``create_model``); embeddings go through its ``get_audio_embedding`` / ``get_text_embedding``.
:meth:`LaionClap.embed_audio` reproduces ``CLAP_Module.get_audio_embedding_from_data`` /
``_from_filelist`` preprocessing: int16 quantisation (``int16_to_float32(float32_to_int16(x))``),
"repeatpad" of short clips (the clip repeated ``floor(480000 / T)`` times, then zero-padded to
480,000 samples = 10 s at 48 kHz). Our one deliberate difference: a clip longer than 10 s is
cropped to its FIRST 10 s (laion's ``rand_trunc`` takes a random window, so its embeddings of
long clips are not reproducible). For fusion models, long clips use the centre of each third of
the possible chunk positions instead of laion's random ones. Text: roberta-base BPE, padded and
truncated to 77 tokens, RoBERTa's pooler output, projection, L2 norm.

laion_clap's import-time traps are avoided: its ``training.data`` module (which loads three
tokenizers from the Hugging Face hub on import) is never imported; ``clap_module`` is imported
directly with ``HF_HUB_OFFLINE=1`` set for the duration. ``create_model`` calls
``RobertaModel.from_pretrained('roberta-base')``; :func:`roberta_base_text_branch` replaces that,
only while a model is built, by ``RobertaModel(roberta_base_config())`` (the weights come from
the checkpoint, or stay random). PANN audio encoders are refused (laion_clap's embedding code
is broken for them). Fusion models need ``torchaudio`` (for laion's mel front end of the fusion
branch).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from humanclap.models.base import ClapModel, as_clips, as_texts, atomic_torch_save, random_seed

__all__ = [
    "CHECKPOINTS",
    "ENV_LAION_DIR",
    "LaionCheckpoint",
    "LaionCheckpointNotFoundError",
    "LaionClap",
    "UnknownSpecError",
    "build",
    "clap_module",
    "infer_arch",
    "is_laion_checkpoint",
    "laion_checkpoint_path",
    "load_weights_only",
    "load_laion_checkpoint",
    "quantize_int16",
    "repeatpad",
    "roberta_base_config",
    "roberta_base_text_branch",
]

ENV_LAION_DIR = "HUMANCLAP_LAION_DIR"
SAMPLE_RATE = 48_000
CLIP_SAMPLES = 480_000
_ROBERTA_VOCAB = 50_265
MAX_TEXT_LENGTH = 77
_DOWNLOAD_TIMEOUT = 20.0
_BASE_URL = "https://huggingface.co/lukewys/laion_clap/resolve/main/"
_AMODELS = ("HTSAT-tiny", "HTSAT-base", "HTSAT-large", "HTSAT-tiny-win-1536")
_FUSION_TYPES = ("aff_2d", "iaff_2d", "daf_2d", "aff_1d", "iaff_1d", "daf_1d", "channel_map")
_HTSAT_SIZES = {96: "tiny", 128: "base", 256: "large"}
_HTSAT_STAGE2_DEPTH = {"tiny": 6, "base": 12, "large": 12}
_FRONTEND = ("audio_branch.spectrogram_extractor.", "audio_branch.logmel_extractor.")
_OPTIONAL_BUFFERS = ("text_branch.embeddings.position_ids", "text_branch.embeddings.token_type_ids")


@dataclass(frozen=True)
class LaionCheckpoint:
    """A released LAION-CLAP checkpoint (on huggingface.co/lukewys/laion_clap)."""

    filename: str
    amodel: str
    fusion: bool
    sha256: str | None = None  # None: not checked (digests cannot be computed offline here)

    @property
    def url(self) -> str:
        return _BASE_URL + self.filename


#: Checkpoints ``"laion:<name>"`` knows (names as in laion_clap's ``load_ckpt`` and README).
CHECKPOINTS: dict[str, LaionCheckpoint] = {
    "630k-best": LaionCheckpoint("630k-best.pt", "HTSAT-tiny", False),
    "630k-audioset-best": LaionCheckpoint("630k-audioset-best.pt", "HTSAT-tiny", False),
    "630k-fusion-best": LaionCheckpoint("630k-fusion-best.pt", "HTSAT-tiny", True),
    "630k-audioset-fusion-best": LaionCheckpoint(
        "630k-audioset-fusion-best.pt", "HTSAT-tiny", True
    ),
    "music_audioset_epoch_15_esc_90.14": LaionCheckpoint(
        "music_audioset_epoch_15_esc_90.14.pt", "HTSAT-base", False
    ),
    "music_speech_epoch_15_esc_89.25": LaionCheckpoint(
        "music_speech_epoch_15_esc_89.25.pt", "HTSAT-base", False
    ),
    "music_speech_audioset_epoch_15_esc_89.98": LaionCheckpoint(
        "music_speech_audioset_epoch_15_esc_89.98.pt", "HTSAT-base", False
    ),
}


class LaionCheckpointNotFoundError(FileNotFoundError):
    """A named checkpoint is not on disk and could not be downloaded (offline or failed)."""


class UnknownSpecError(ValueError):
    """A ``"laion:..."`` spec that names no checkpoint, file or random form."""


# ----------------------------------------------------------------------------- laion_clap access
@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the block, then restore the caller's value (or unset)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def clap_module() -> Any:
    """Import laion_clap's ``clap_module`` package without running ``laion_clap/__init__``.

    ``import laion_clap`` imports ``laion_clap.training.data``, which loads three tokenizers
    from the Hugging Face hub (minutes of retries offline). ``clap_module`` alone does not;
    it is registered as the top-level ``clap_module`` exactly as laion_clap itself does, so a
    later ``import laion_clap`` shares it. ``HF_HUB_OFFLINE=1`` is set while importing.
    """
    if "clap_module" in sys.modules:
        return sys.modules["clap_module"]
    spec = importlib.util.find_spec("laion_clap")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the 'laion' backend needs laion_clap: pip install laion-clap==1.1.7 torchvision"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "clap_module"
    module_spec = importlib.util.spec_from_file_location(
        "clap_module", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"laion_clap is installed but {folder} is not importable")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["clap_module"] = module
    try:
        with _env("HF_HUB_OFFLINE", "1"):
            module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop("clap_module", None)
        for name in [n for n in sys.modules if n.startswith("clap_module.")]:
            sys.modules.pop(name, None)
        raise
    return module


def roberta_base_config() -> Any:
    """transformers ``RobertaConfig`` of ``roberta-base``, exactly (not ``RobertaConfig()``)."""
    from transformers import RobertaConfig

    return RobertaConfig(
        vocab_size=50265,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=514,
        type_vocab_size=1,
        initializer_range=0.02,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )


class _RobertaBaseOffline:
    """Stands in for ``RobertaModel`` in ``clap_module.model`` while a CLAP is built."""

    @staticmethod
    def from_pretrained(name: str, *args: Any, **kwargs: Any) -> nn.Module:
        from transformers import RobertaModel

        if name not in ("roberta-base", "FacebookAI/roberta-base"):
            raise ValueError(f"laion backend: only roberta-base text branches, got {name!r}")
        return RobertaModel(roberta_base_config())


@contextlib.contextmanager
def roberta_base_text_branch() -> Iterator[Any]:
    """Within the block, laion_clap builds its RoBERTa text branch offline (random weights).

    Replaces ``clap_module.model.RobertaModel`` by a stand-in whose ``from_pretrained`` builds
    ``RobertaModel(roberta_base_config())`` without any download, and sets ``HF_HUB_OFFLINE=1``;
    both are restored on exit. Yields the ``clap_module`` package.
    """
    cm = clap_module()
    model_module = sys.modules["clap_module.model"]
    original = model_module.RobertaModel
    model_module.RobertaModel = _RobertaBaseOffline
    try:
        with _env("HF_HUB_OFFLINE", "1"):
            yield cm
    finally:
        model_module.RobertaModel = original


def _torchaudio() -> Any:
    try:
        import torchaudio
    except Exception as err:  # ImportError, or a torchaudio built for another torch
        raise ImportError(
            "LAION-CLAP fusion models need torchaudio (laion's mel front end of the fusion "
            f"branch), which is not importable here ({type(err).__name__}: {err}). Install a "
            f"torchaudio matching torch {torch.__version__} (e.g. torch 2.9.1 + torchaudio 2.9.x "
            "is a known working pair), or use a non-fusion checkpoint such as "
            "'laion:630k-audioset-best'."
        ) from err
    return torchaudio


# ----------------------------------------------------------------------------- architecture
def _normalise_arch(arch: dict[str, Any]) -> dict[str, Any]:
    known = {"amodel", "tmodel", "fusion", "fusion_type", "tokenizer", "long_clips"}
    unknown = sorted(set(arch) - known)
    if unknown:
        raise ValueError(f"laion arch: unknown field(s) {unknown}; valid: {sorted(known)}")
    amodel = str(arch.get("amodel", "HTSAT-tiny"))
    if amodel.upper().startswith("PANN"):
        raise ValueError(
            f"amodel={amodel!r}: PANN audio encoders are not supported (laion_clap's "
            "get_audio_embedding fails for them); use an HTS-AT model "
            f"({', '.join(_AMODELS)})"
        )
    if amodel not in _AMODELS:
        raise ValueError(f"amodel={amodel!r}: expected one of {list(_AMODELS)}")
    tmodel = str(arch.get("tmodel", "roberta"))
    if tmodel != "roberta":
        raise ValueError(f"tmodel={tmodel!r}: only 'roberta' text encoders are supported")
    fusion = bool(arch.get("fusion", False))
    fusion_type = arch.get("fusion_type")
    if fusion:
        fusion_type = str(fusion_type or "aff_2d")
        if fusion_type not in _FUSION_TYPES:
            raise ValueError(f"fusion_type={fusion_type!r}: expected one of {list(_FUSION_TYPES)}")
    else:
        fusion_type = None
    tokenizer = str(arch.get("tokenizer", "roberta-base"))
    if tokenizer not in ("roberta-base", "gpt2-bpe"):
        raise ValueError(f"tokenizer={tokenizer!r}: expected 'roberta-base' or 'gpt2-bpe'")
    long_clips = str(arch.get("long_clips", "first"))
    if long_clips != "first":
        raise ValueError(f"long_clips={long_clips!r}: only 'first' (the first 10 s) is supported")
    return {
        "amodel": amodel,
        "tmodel": tmodel,
        "fusion": fusion,
        "fusion_type": fusion_type,
        "tokenizer": tokenizer,
        "long_clips": long_clips,
    }


def _strip_module_prefix(state: dict[str, Any]) -> dict[str, Any]:
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in state.items()}


def infer_arch(state_dict: dict[str, Tensor]) -> dict[str, Any]:
    """Read the architecture (``amodel``, ``fusion``, ``fusion_type``) off a LAION state dict.

    Parameters
    ----------
    state_dict : dict
        Keys as in laion's ``CLAP`` (``audio_branch.*``, ``text_branch.*``, ...), a ``module.``
        prefix is allowed.

    Raises
    ------
    ValueError
        Not a LAION-CLAP state dict, a PANN audio encoder, or a text encoder other than RoBERTa.
    """
    sd = _strip_module_prefix(state_dict)
    if not any(k.startswith("audio_branch.") for k in sd):
        raise ValueError("not a LAION-CLAP state dict: no 'audio_branch.*' keys")
    patch = sd.get("audio_branch.patch_embed.proj.weight")
    if patch is None:
        if any(k.startswith(("audio_branch.conv_block", "audio_branch.fc1")) for k in sd):
            raise ValueError(
                "this LAION-CLAP checkpoint has a PANN audio encoder, which is not supported "
                "(laion_clap's get_audio_embedding fails for PANN); use an HTS-AT checkpoint"
            )
        raise ValueError("unknown LAION-CLAP audio encoder: no 'audio_branch.patch_embed' weights")
    width = int(patch.shape[0])
    if width not in _HTSAT_SIZES:
        raise ValueError(
            f"HTS-AT patch embedding width {width} matches no size (tiny 96, base 128, large 256)"
        )
    size = _HTSAT_SIZES[width]
    depth = len({k.split(".")[4] for k in sd if k.startswith("audio_branch.layers.2.blocks.")})
    if depth != _HTSAT_STAGE2_DEPTH[size]:
        raise ValueError(
            f"HTS-AT-{size} expects {_HTSAT_STAGE2_DEPTH[size]} blocks in stage 3, the state dict "
            f"has {depth}"
        )
    stft = sd.get("audio_branch.spectrogram_extractor.stft.conv_real.weight")
    window = int(stft.shape[-1]) if stft is not None else 1024
    amodel = f"HTSAT-{size}"
    if window == 1536 and size == "tiny":
        amodel = "HTSAT-tiny-win-1536"
    elif window != 1024:
        raise ValueError(f"HTS-AT-{size} with an STFT window of {window} has no laion config")
    text_key = "text_branch.embeddings.word_embeddings.weight"
    if text_key not in sd or "text_branch.encoder.layer.11.output.dense.weight" not in sd:
        raise ValueError(
            "only LAION-CLAP checkpoints with a RoBERTa text branch are supported "
            f"(no {text_key!r} or 12 encoder layers)"
        )
    if tuple(sd[text_key].shape) != (50265, 768):
        raise ValueError(
            f"{text_key} has shape {tuple(sd[text_key].shape)}, roberta-base's is (50265, 768)"
        )
    fusion_keys = [k for k in sd if "fusion_model" in k or "mel_conv" in k]
    fusion_type = None
    if int(patch.shape[1]) == 4:
        fusion_type = "channel_map"
    elif fusion_keys:
        dim = "2d" if any(k.startswith("audio_branch.patch_embed.") for k in fusion_keys) else "1d"
        if any("local_att2" in k for k in fusion_keys):
            kind = "iaff"
        elif any("local_att" in k for k in fusion_keys):
            kind = "aff"
        else:
            kind = "daf"
        fusion_type = f"{kind}_{dim}"
    return _normalise_arch(
        {"amodel": amodel, "fusion": fusion_type is not None, "fusion_type": fusion_type}
    )


# ----------------------------------------------------------------------------- preprocessing
def quantize_int16(wave: Tensor) -> Tensor:
    """laion's ``int16_to_float32(float32_to_int16(x))``, bit for bit, on tensors.

    ``clip(x, -1, 1) * 32767`` in float32, truncated to int16, divided by 32767 in float64 and
    rounded to float32 (as numpy does). When ``wave`` requires grad, the gradient passes
    straight through (the value then may differ from the exact one by a float32 rounding).

    Parameters
    ----------
    wave : Tensor, float32, any shape

    Returns
    -------
    Tensor, float32, same shape
    """
    scaled = torch.clamp(wave.detach().float(), -1.0, 1.0) * 32767.0
    quantized = (scaled.to(torch.int16).to(torch.float64) / 32767.0).to(torch.float32)
    if wave.requires_grad:
        return wave + (quantized - wave).detach()
    return quantized


def repeatpad(wave: Tensor, num_samples: int = CLIP_SAMPLES) -> Tensor:
    """laion's "repeatpad": repeat a short clip ``floor(num_samples / T)`` times, zero-pad the rest.

    A clip longer than ``num_samples`` is cropped to its first ``num_samples`` samples (laion
    crops at random). Parameters: ``wave`` Tensor (T,), T >= 1. Returns Tensor (num_samples,).
    """
    length = int(wave.shape[0])
    if length == 0:
        raise ValueError("wave: empty clip (0 samples)")
    if length >= num_samples:
        return wave[:num_samples]
    wave = wave.repeat(num_samples // length)
    return F.pad(wave, (0, num_samples - wave.shape[0]), mode="constant", value=0.0)


# ----------------------------------------------------------------------------- the model
class LaionClap(ClapModel):
    """LAION-CLAP (HTS-AT audio encoder, RoBERTa text encoder), 48 kHz, 10 s, D = 512.

    Parameters
    ----------
    arch : dict
        ``amodel`` (``"HTSAT-tiny"``, ``"HTSAT-base"``, ``"HTSAT-large"``,
        ``"HTSAT-tiny-win-1536"``), ``tmodel`` (``"roberta"``), ``fusion`` (bool),
        ``fusion_type`` (``"aff_2d"`` for laion's fusion checkpoints), ``tokenizer``
        (``"roberta-base"`` or ``"gpt2-bpe"``, see :mod:`humanclap.models.tokenizer`),
        ``long_clips`` (``"first"``).
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
    """

    backend = "laion"
    sample_rate = SAMPLE_RATE
    max_seconds = CLIP_SAMPLES / SAMPLE_RATE
    embed_dim = 512

    def __init__(
        self,
        arch: dict[str, Any],
        spec: str = "laion:random",
        *,
        provenance: dict[str, Any] | None = None,
        tokenizer: Any = None,
    ) -> None:
        super().__init__(spec)
        arch = _normalise_arch(arch)
        if arch["fusion"]:
            _torchaudio()
        from humanclap.models.tokenizer import MIN_VOCAB_SIZE, TokenizerVocabError

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

    # ------------------------------------------------------------------ embeddings
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

        Mirrors laion's ``get_audio_features(..., 480000, data_truncating='rand_trunc' or
        'fusion', data_filling='repeatpad')`` after int16 quantisation, except that long clips
        are cropped deterministically (module doc).
        """
        wave = quantize_int16(wave.to(self.device, torch.float32))
        if not self._arch["fusion"]:
            return {"waveform": repeatpad(wave), "longer": torch.tensor([False])}
        return self._fusion_features(wave)

    def _fusion_features(self, wave: Tensor) -> dict[str, Tensor]:
        """Copy of laion's fusion branch of ``get_audio_features`` with fixed chunk positions."""
        cfg = self.audio_cfg
        if wave.shape[0] <= CLIP_SAMPLES:
            wave = repeatpad(wave)
            mel = self._mel(wave)
            return {
                "waveform": wave,
                "longer": torch.tensor([False]),
                "mel_fusion": torch.stack([mel, mel, mel, mel], dim=0),
            }
        with torch.no_grad():
            mel = self._mel(wave)
        chunk_frames = CLIP_SAMPLES // cfg["hop_size"] + 1
        total_frames = mel.shape[0]
        if chunk_frames == total_frames:
            mel_fusion = torch.stack([mel, mel, mel, mel], dim=0)
            longer = False
        else:
            ranges = np.array_split(list(range(0, total_frames - chunk_frames + 1)), 3)
            starts = [int(r[len(r) // 2]) if len(r) else 0 for r in ranges]
            chunks = [mel[s : s + chunk_frames, :] for s in starts]
            import torchvision

            shrink = torchvision.transforms.Resize(size=[chunk_frames, cfg["mel_bins"]])
            mel_fusion = torch.stack([shrink(mel[None])[0], *chunks], dim=0)
            longer = True
        return {
            "waveform": wave[:CLIP_SAMPLES],
            "longer": torch.tensor([longer]),
            "mel_fusion": mel_fusion,
        }

    def _mel(self, wave: Tensor) -> Tensor:
        """laion's ``get_mel``: torchaudio mel power spectrogram in dB, shape (frames, mel_bins)."""
        torchaudio = _torchaudio()
        cfg = self.audio_cfg
        mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=cfg["sample_rate"],
            n_fft=cfg["window_size"],
            win_length=cfg["window_size"],
            hop_length=cfg["hop_size"],
            center=True,
            pad_mode="reflect",
            power=2.0,
            norm=None,
            onesided=True,
            n_mels=cfg["mel_bins"],
            f_min=cfg["fmin"],
            f_max=cfg["fmax"],
        ).to(wave.device)(wave)
        return torchaudio.transforms.AmplitudeToDB(top_db=None)(mel).T

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
        state = _strip_module_prefix(state)
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


def _tokenizer_for(vocab: str) -> Any:
    from humanclap.models.tokenizer import GPT2_BPE, gpt2_bpe_tokenizer, roberta_tokenizer

    return gpt2_bpe_tokenizer() if vocab == GPT2_BPE else roberta_tokenizer()


# ----------------------------------------------------------------------------- checkpoints
def is_laion_checkpoint(obj: Any) -> bool:
    """True for ``{"state_dict": {...}}`` or a bare state dict with LAION-CLAP's keys."""
    if not isinstance(obj, dict):
        return False
    state = obj.get("state_dict", obj)
    if not isinstance(state, dict):
        return False
    return any(
        isinstance(k, str) and k.removeprefix("module.").startswith("audio_branch.") for k in state
    )


def _numpy_scalar_globals() -> list[Any]:
    """numpy scalar/dtype constructors, allowlisted for ``weights_only`` loading.

    LAION's training stores the optimiser's learning rate as ``numpy.float64`` (cosine schedule
    computed with numpy), pickled as ``numpy.core.multiarray.scalar(numpy.dtype(...), bytes)``.
    These build plain numbers from bytes and run no other code.
    """
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import scalar
    allowed: list[Any] = [
        np.dtype,
        (scalar, "numpy.core.multiarray.scalar"),
        (scalar, "numpy._core.multiarray.scalar"),
    ]
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25 pickles dtypes by class
    for bits in ("8", "16", "32", "64"):
        for kind in ("Int", "UInt", "Float"):
            cls = getattr(dtypes, f"{kind}{bits}DType", None)
            if cls is not None:
                allowed.append(cls)
    if getattr(dtypes, "BoolDType", None) is not None:
        allowed.append(dtypes.BoolDType)
    return allowed


def load_weights_only(path: str | os.PathLike) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``, numpy scalars allowed.

    Raises
    ------
    FileNotFoundError
    ValueError
        The file holds anything else than tensors, containers and numbers (e.g. pickled Python
        objects), or is not a torch file; names the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    context = getattr(torch.serialization, "safe_globals", None)
    try:
        with context(_numpy_scalar_globals()) if context else contextlib.nullcontext():
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"{path}: cannot be read with torch.load(weights_only=True) ({err}). Checkpoints "
            "holding pickled Python objects are refused; if you trust the file, re-save only "
            "its tensors: torch.save({'state_dict': torch.load(path, weights_only=False)"
            "['state_dict']}, new_path)"
        ) from err


def load_laion_checkpoint(
    path: str | os.PathLike,
    spec: str | None = None,
    *,
    checkpoint: Any = None,
    provenance: dict[str, Any] | None = None,
) -> LaionClap:
    """Build a :class:`LaionClap` from a LAION-format checkpoint file.

    Parameters
    ----------
    path : path-like
    spec : str, optional
        Default ``"laion:<path>"``.
    checkpoint : object, optional
        The file's content when already read (with ``weights_only=True``).
    provenance : dict, optional

    Raises
    ------
    FileNotFoundError
    ValueError
        Unreadable with ``weights_only=True``, not a LAION-CLAP state dict, an unsupported
        architecture (PANN, non-RoBERTa), or weights that do not fit (names the keys).
    ImportError
        A fusion checkpoint and no torchaudio.
    """
    path = Path(path)
    obj = load_weights_only(path) if checkpoint is None else checkpoint
    if not is_laion_checkpoint(obj):
        keys = sorted(map(str, obj))[:8] if isinstance(obj, dict) else type(obj).__name__
        raise ValueError(
            f"{path}: not a LAION-CLAP checkpoint (expected {{'state_dict': ...}} or a state "
            f"dict with 'audio_branch.*' keys; got {keys})"
        )
    state = obj["state_dict"] if "state_dict" in obj else obj
    bad = [k for k, v in state.items() if not isinstance(v, Tensor)]
    if bad:
        raise ValueError(f"{path}: state_dict entries that are not tensors: {bad[:5]}")
    try:
        arch = infer_arch(state)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
    meta = obj.get("humanclap") if isinstance(obj.get("humanclap"), dict) else None
    if meta and isinstance(meta.get("config"), dict):
        saved = meta["config"].get("arch", {})
        if saved.get("tokenizer") in ("roberta-base", "gpt2-bpe"):
            arch["tokenizer"] = saved["tokenizer"]
    spec = spec or f"laion:{path}"
    info = {"checkpoint": str(path)}
    info.update(provenance or {})
    if isinstance(obj.get("epoch"), (int, float)):
        info.setdefault("epoch", obj["epoch"])
    model = LaionClap(arch, spec, provenance=info)
    model.load_laion_state_dict(state, str(path))
    return model


def laion_checkpoint_path(name: str, *, progress: bool = True) -> Path:
    """Local path of the released checkpoint ``name`` (a key of :data:`CHECKPOINTS`).

    Looks in ``$HUMANCLAP_LAION_DIR`` then ``<user_cache_dir()>/laion/``; when absent and online,
    downloads it to the latter (progress bar, atomic, sha256 when known, time-outs).

    Raises
    ------
    LaionCheckpointNotFoundError
        Absent and offline (at once), or the download failed; names the file, the URL, the
        folder to put it in and ``$HUMANCLAP_LAION_DIR``.
    """
    from humanclap.utils import (
        ENV_OFFLINE,
        DownloadError,
        download,
        is_offline,
        user_cache_dir,
    )

    if name not in CHECKPOINTS:
        raise ValueError(f"unknown LAION-CLAP checkpoint {name!r}; known: {sorted(CHECKPOINTS)}")
    entry = CHECKPOINTS[name]
    cache = user_cache_dir() / "laion"
    env = os.environ.get(ENV_LAION_DIR)
    folders = ([Path(env).expanduser()] if env else []) + [cache]
    for folder in folders:
        if (folder / entry.filename).is_file():
            return folder / entry.filename
    where = f"${ENV_LAION_DIR}={env}, then {cache}" if env else f"{cache} (${ENV_LAION_DIR} unset)"
    hint = (
        f"LAION-CLAP checkpoint {entry.filename} not found (looked in {where}). Download "
        f"{entry.url} on a machine that is online and put it in {cache}, or in a folder named "
        f"by the environment variable {ENV_LAION_DIR}."
    )
    if is_offline():
        raise LaionCheckpointNotFoundError(f"{hint} Not downloading: ${ENV_OFFLINE} is set.")
    try:
        return download(
            entry.url,
            cache / entry.filename,
            sha256=entry.sha256,
            timeout=_DOWNLOAD_TIMEOUT,
            progress=progress,
        )
    except DownloadError as err:
        raise LaionCheckpointNotFoundError(f"{hint} The download failed: {err}") from err


# ----------------------------------------------------------------------------- spec builder
def _random_model(spec: str, seed: int, amodel: str, fusion: bool, tokenizer: Any) -> LaionClap:
    from humanclap.models.tokenizer import roberta_tokenizer, tokenizer_vocab

    if tokenizer is None:
        tokenizer = roberta_tokenizer(allow_gpt2=True)
    arch = {"amodel": amodel, "fusion": fusion, "tokenizer": tokenizer_vocab(tokenizer)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LaionClap(
            arch, spec, provenance={"weights": "random", "seed": seed}, tokenizer=tokenizer
        )


def build(spec: str, **kwargs: Any) -> LaionClap:
    """The ``"laion"`` backend's builder (see the module doc for the spec forms).

    Keyword arguments: for ``"laion:random"``: ``seed`` (int, default 0), ``amodel``
    (default ``"HTSAT-tiny"``), ``fusion`` (default False), ``tokenizer`` (a transformers
    tokenizer, default :func:`~humanclap.models.tokenizer.roberta_tokenizer` with the GPT-2
    fallback); for named checkpoints: ``progress`` (download bar, default True).
    """
    if not spec.startswith("laion:") or spec == "laion:":
        raise UnknownSpecError("expected 'laion:<name>', 'laion:random' or 'laion:<path>'")
    rest = spec[len("laion:") :]
    if rest == "random" or rest.startswith("random:"):
        seed = random_seed(spec, rest.split(":"), kwargs, UnknownSpecError)
        amodel = kwargs.pop("amodel", "HTSAT-tiny")
        fusion = bool(kwargs.pop("fusion", False))
        tokenizer = kwargs.pop("tokenizer", None)
        if kwargs:
            raise TypeError(f"load({spec!r}): unexpected option(s) {sorted(kwargs)}")
        return _random_model(spec, int(seed or 0), amodel, fusion, tokenizer)
    name = rest.removesuffix(".pt")
    if name in CHECKPOINTS:
        progress = bool(kwargs.pop("progress", True))
        if kwargs:
            raise TypeError(f"load({spec!r}): unexpected option(s) {sorted(kwargs)}")
        path = laion_checkpoint_path(name, progress=progress)
        entry = CHECKPOINTS[name]
        model = load_laion_checkpoint(
            path, f"laion:{name}", provenance={"checkpoint": entry.filename, "url": entry.url}
        )
        arch = model.config["arch"]
        if (arch["amodel"], arch["fusion"]) != (entry.amodel, entry.fusion):
            raise ValueError(
                f"{path}: holds a {arch['amodel']} (fusion={arch['fusion']}) model, but "
                f"{entry.filename} is a {entry.amodel} (fusion={entry.fusion}) one: wrong file?"
            )
        return model
    if kwargs:
        raise TypeError(f"load({spec!r}): a checkpoint file takes no options, got {sorted(kwargs)}")
    looks_like_path = (
        os.sep in rest
        or (os.altsep is not None and os.altsep in rest)
        or rest.lower().endswith((".pt", ".pth", ".ckpt", ".bin"))
        or Path(rest).is_file()
    )
    if looks_like_path:
        return load_laion_checkpoint(Path(rest).expanduser(), spec)
    raise UnknownSpecError(
        f"unknown LAION-CLAP checkpoint {rest!r} (known names: {', '.join(sorted(CHECKPOINTS))})"
    )
