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
    Offline (``$HUMANCLAP_OFFLINE``, ``$HF_HUB_OFFLINE`` or ``$TRANSFORMERS_OFFLINE``) nothing is
    requested: a repository that is not cached raises :class:`HfModelNotFoundError` at once,
    naming it and how to make it available.
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

Which base a released checkpoint needs
--------------------------------------
:func:`released_base` reads a checkpoint's ``config.json`` (a folder, ``"hf:<repo id>"`` from the
cache, a ``ClapConfig``) and names the public model with its architecture:
``"hf:laion/clap-htsat-fused"`` when ``audio_config.enable_fusion`` is true, else
``"hf:laion/clap-htsat-unfused"``; a ValueError names the fields when the parameter shapes are
neither's.

Modules
-------
- :mod:`~humanclap.models.hf.config` -- ``ClapConfig`` helpers and feature-extractor settings.
- :mod:`~humanclap.models.hf.features` -- one clip's audio features, deterministic.
- :mod:`~humanclap.models.hf.hub` -- snapshot folders in the HF cache or downloaded.
- :mod:`~humanclap.models.hf.vocab` -- which tokenizer a model gets (vocabulary checks).
- :mod:`~humanclap.models.hf.model` -- :class:`HfClap` and its ``save_pretrained`` folders.
- :mod:`~humanclap.models.hf.folder` -- reading folders and repositories into :class:`HfClap`;
  :func:`released_base`.
- :mod:`~humanclap.models.hf.build` -- the ``"hf:..."`` spec builder.
"""

from humanclap.models.hf.build import UnknownSpecError, build
from humanclap.models.hf.config import (
    FUSED_FEATURE_EXTRACTOR,
    LONG_CLIPS,
    SETTINGS_FILE,
    default_feature_settings,
    feature_extractor_settings,
    htsat_base_differences,
    random_config,
    small_config,
)
from humanclap.models.hf.folder import load_folder, load_repo, released_base
from humanclap.models.hf.hub import FUSED_REPO, UNFUSED_REPO, HfModelNotFoundError, hub_folder
from humanclap.models.hf.model import HfClap
from humanclap.models.hf.vocab import vocab_name

__all__ = [
    "FUSED_FEATURE_EXTRACTOR",
    "FUSED_REPO",
    "LONG_CLIPS",
    "SETTINGS_FILE",
    "UNFUSED_REPO",
    "HfClap",
    "HfModelNotFoundError",
    "UnknownSpecError",
    "build",
    "default_feature_settings",
    "feature_extractor_settings",
    "htsat_base_differences",
    "hub_folder",
    "load_folder",
    "load_repo",
    "random_config",
    "released_base",
    "small_config",
    "vocab_name",
]
