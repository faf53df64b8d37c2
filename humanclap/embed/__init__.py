"""Embed many clips and captions with any :class:`~humanclap.models.ClapModel`: deduplicated,
batched, prefetched, cached on disk, resumable, and strict about bad files.

:func:`embed_audio` and :func:`embed_text` return float32 arrays of shape (N, D), row ``i`` for
input ``i``. What they do, in order:

1. **Hash.** Each input gets a content key: for a path, the sha256 of the file's bytes; for a
   1-D array, the sha256 of its float32 bytes and the sample rate; for a caption, the sha256
   of its UTF-8 bytes. Identical inputs (RELATE repeats each caption about three times; two
   paths with the same bytes) share a key and are embedded **once** (:class:`EmbedInfo` reports
   ``n_unique``).
2. **Cache look-up** (see *Cache* below): keys already embedded by this model are read back.
3. **Embed the rest** in batches of ``batch_size`` under :func:`torch.inference_mode` (and
   autocast to bf16, or fp16 where bf16 is unsupported, when the model is on CUDA, or to bf16
   on a CPU with native bf16 when asked for: see :mod:`humanclap.runtime`; the embeddings are
   returned as float32). Audio files are read, re-hashed (a file changed since step 1 is an
   error, not a wrong cache entry), decoded and resampled
   (:func:`humanclap.audio.decode_audio`, equal to ``librosa.load(path, sr=model.sample_rate)``)
   by ``num_workers`` threads (libsndfile, soxr and hashlib release the GIL), which work on the
   next batch while the model runs the current one. Clips of different length go to the model
   as a list of 1-D tensors: the model pads / crops them its own way (never zero-padded here).
   The model is put in eval mode for the call and restored afterwards.
4. **Write** each finished batch to the cache at once, so a run that is interrupted (Ctrl-C,
   a crash, a killed job) keeps everything up to its last batch and a re-run resumes.

Bad inputs
----------
A file that cannot be used (missing, empty, undecodable, truncated, zero frames, NaN/inf
samples: see :mod:`humanclap.audio`) never stops the others: the good items of its batch are embedded and
cached as usual. Then, with ``errors="raise"`` (default) an :class:`EmbedError` lists **all** bad
items with their reasons (it carries the partial embeddings and the :class:`EmbedInfo`); with
``errors="nan"`` (alias ``"skip"``: rows are never dropped, so rows stay aligned with the
input) their rows are NaN and the reasons are in ``EmbedInfo.errors`` (``return_info=True``).
A row the model itself returns non-finite is treated the same way (and not cached). Valid but
odd audio (silent, shorter than 1 s, longer than the model's window: the flag says what the
model does with the rest) is embedded and flagged in ``EmbedInfo.warnings``; so is, with
``allow_truncated=True``, a truncated file (its cache entry carries the flag, and a call without
``allow_truncated`` refuses it), and a caption longer than the model's text encoder takes.

Cache
-----
See :mod:`humanclap.embed.cache`: one checksummed file per item under
``<cache_dir>/<model.fingerprint>-<precision>/``, corrupt entries rebuilt, never pruned.

Modules
-------
- :mod:`humanclap.embed.audio` -- :func:`embed_audio`.
- :mod:`humanclap.embed.text` -- :func:`embed_text`.
- :mod:`humanclap.embed.cache` -- the on-disk cache.
- :mod:`humanclap.embed.info` -- :class:`EmbedInfo`, :class:`EmbedError`.
"""

from humanclap.embed.audio import LOADER_VERSION, PREFETCH_BATCHES, embed_audio
from humanclap.embed.cache import CacheWarning, EmbeddingCache, default_cache_dir
from humanclap.embed.info import EmbedError, EmbedInfo
from humanclap.embed.text import embed_text

__all__ = [
    "LOADER_VERSION",
    "PREFETCH_BATCHES",
    "CacheWarning",
    "EmbedError",
    "EmbedInfo",
    "EmbeddingCache",
    "default_cache_dir",
    "embed_audio",
    "embed_text",
]
