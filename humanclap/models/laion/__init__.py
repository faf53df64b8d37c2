"""LAION-CLAP (``laion_clap`` 1.1.7) behind the :class:`~humanclap.models.base.ClapModel` interface.

Specs (see :func:`build`)
-------------------------
``"laion:<name>"``
    A released checkpoint (:data:`CHECKPOINTS`, e.g. ``"laion:630k-audioset-best"``), looked
    for in ``$HUMANCLAP_LAION_DIR``, then in the Hugging Face cache as a file of
    :data:`LAION_REPO` at its pinned commit; downloaded and verified by
    :func:`humanclap.models.hub_fetch.hub_files` when missing and online; offline,
    :class:`LaionCheckpointNotFoundError` at once.
``"laion:<path>"`` or just the path
    A checkpoint in LAION's format (``{"state_dict": ..., "epoch": ...}`` or a bare state dict,
    keys possibly prefixed ``module.``, with or without ``text_branch.embeddings.position_ids``).
    The HTS-AT size (tiny/base/large, window 1024/1536) and the fusion variant are read off the
    state dict. Read with :func:`humanclap.models.checkpoint.load_weights_only`, whose unpickler
    runs no code (tensors, numpy scalars and dicts only), or from ``.safetensors``.
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

laion_clap's import-time traps are avoided (:mod:`~humanclap.models.laion.library`): its
``training.data`` module (which loads three tokenizers from the Hugging Face hub on import) is
never imported; ``clap_module`` is imported directly with ``HF_HUB_OFFLINE=1`` set for the
duration. ``create_model`` calls ``RobertaModel.from_pretrained('roberta-base')``;
:func:`roberta_base_text_branch` replaces that, only while a model is built, by
``RobertaModel(roberta_base_config())`` (the weights come from the checkpoint, or stay random).
PANN audio encoders are refused (laion_clap's embedding code is broken for them). Fusion models
work without ``torchaudio``: laion's mel front end is computed in plain torch
(:mod:`~humanclap.models.laion.preprocess`).

Modules
-------
- :mod:`~humanclap.models.laion.arch` -- the ``arch`` dict: checked, or read off a state dict.
- :mod:`~humanclap.models.laion.library` -- laion_clap imported and built offline.
- :mod:`~humanclap.models.laion.preprocess` -- laion's audio preprocessing, deterministic.
- :mod:`~humanclap.models.laion.model` -- :class:`LaionClap` and its LAION-format weights.
- :mod:`~humanclap.models.laion.checkpoint` -- LAION's checkpoint files, the released ones.
- :mod:`~humanclap.models.laion.build` -- the ``"laion:..."`` spec builder.
"""

from __future__ import annotations

from humanclap.models.laion.arch import infer_arch, normalise_arch, roberta_base_config
from humanclap.models.laion.build import UnknownSpecError, build
from humanclap.models.laion.checkpoint import (
    CHECKPOINTS,
    ENV_LAION_DIR,
    LAION_REPO,
    LaionCheckpoint,
    LaionCheckpointNotFoundError,
    is_laion_checkpoint,
    laion_checkpoint_path,
    load_laion_checkpoint,
)
from humanclap.models.laion.library import clap_module, roberta_base_text_branch
from humanclap.models.laion.model import MAX_TEXT_LENGTH, LaionClap
from humanclap.models.laion.preprocess import (
    CLIP_SAMPLES,
    SAMPLE_RATE,
    quantize_int16,
    repeatpad,
)

__all__ = [
    "CHECKPOINTS",
    "CLIP_SAMPLES",
    "ENV_LAION_DIR",
    "LAION_REPO",
    "MAX_TEXT_LENGTH",
    "SAMPLE_RATE",
    "LaionCheckpoint",
    "LaionCheckpointNotFoundError",
    "LaionClap",
    "UnknownSpecError",
    "build",
    "clap_module",
    "infer_arch",
    "is_laion_checkpoint",
    "laion_checkpoint_path",
    "load_laion_checkpoint",
    "normalise_arch",
    "quantize_int16",
    "repeatpad",
    "roberta_base_config",
    "roberta_base_text_branch",
]
