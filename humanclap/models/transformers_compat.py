"""What differs between transformers 4 (4.40 or newer) and 5, in one place, through public APIs.

humanclap supports both lines (``transformers>=4.40,<6``). Where their public APIs agree the code
elsewhere calls transformers directly; this module holds the few calls that differ:

* A RoBERTa byte-level BPE tokenizer from an in-memory vocabulary and merge list
  (:func:`bpe_tokenizer`). transformers 5's ``RobertaTokenizer(vocab=..., merges=...)`` takes them
  directly; transformers 4's ``RobertaTokenizer`` is a pure-Python tokenizer that only reads files
  (``vocab_file``, ``merges_file``), and its ``RobertaTokenizerFast`` takes a ready 🤗 tokenizers
  ``Tokenizer`` (``tokenizer_object``), which we assemble here as transformers 5 does (and
  transformers 4's slow-to-fast converter): same BPE, pre-tokenizer, decoder and post-processor,
  hence the same ids.
* The dtype argument of ``from_pretrained`` (:func:`dtype_kwargs`): ``dtype`` since 4.56,
  ``torch_dtype`` before (transformers 5 still reads it, with a deprecation warning).
* Config dicts (:func:`without_v4_defaults`): transformers 4 writes some 40 keys into every
  config (``PretrainedConfig``'s generation defaults, since moved to ``GenerationConfig``, and
  flags of dropped features) that transformers 5 does not; without them, at their defaults, the
  same model has the same architecture dict (so the same fingerprint) on both lines.
* A tokenizer folder (:func:`tokenizer_from_folder`): ``RobertaTokenizerFast.from_pretrained`` on
  both lines (in transformers 5 the same class as ``RobertaTokenizer``; in transformers 4 the
  class that reads ``tokenizer.json``).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "bpe_tokenizer",
    "dtype_kwargs",
    "tokenizer_from_folder",
    "transformers_major",
    "without_v4_defaults",
]

#: The special tokens of roberta-base (ids 0, 1, 2, 3, and the last one).
_SPECIAL = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}


#: The keys of a transformers 4 config dict that transformers 5 does not write, with their 4.x
#: defaults (``PretrainedConfig``'s, and ``ClapTextConfig``'s ``position_embedding_type``: 5 has
#: only absolute positions). Listed by hand: transformers 5 has no record of them.
V4_ONLY_CONFIG_DEFAULTS: dict[str, Any] = {
    "add_cross_attention": False,
    "bad_words_ids": None,
    "begin_suppress_tokens": None,
    "bos_token_id": None,
    "cross_attention_hidden_size": None,
    "decoder_start_token_id": None,
    "diversity_penalty": 0.0,
    "do_sample": False,
    "early_stopping": False,
    "encoder_no_repeat_ngram_size": 0,
    "eos_token_id": None,
    "exponential_decay_length_penalty": None,
    "finetuning_task": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "is_decoder": False,
    "length_penalty": 1.0,
    "max_length": 20,
    "min_length": 0,
    "no_repeat_ngram_size": 0,
    "num_beam_groups": 1,
    "num_beams": 1,
    "num_return_sequences": 1,
    "output_scores": False,
    "pad_token_id": None,
    "position_embedding_type": "absolute",
    "prefix": None,
    "pruned_heads": {},
    "remove_invalid_values": False,
    "repetition_penalty": 1.0,
    "return_dict_in_generate": False,
    "sep_token_id": None,
    "suppress_tokens": None,
    "task_specific_params": None,
    "temperature": 1.0,
    "tf_legacy_loss": False,
    "tie_encoder_decoder": False,
    "tie_word_embeddings": True,
    "tokenizer_class": None,
    "top_k": 50,
    "top_p": 1.0,
    "torchscript": False,
    "typical_p": 1.0,
    "use_bfloat16": False,
}


def without_v4_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (one level of a config dict) without the keys of
    :data:`V4_ONLY_CONFIG_DEFAULTS` that hold their default (same value and type); a key set to
    anything else is kept, as it may change the model."""
    return {
        k: v
        for k, v in config.items()
        if not (
            k in V4_ONLY_CONFIG_DEFAULTS
            and type(v) is type(V4_ONLY_CONFIG_DEFAULTS[k])
            and v == V4_ONLY_CONFIG_DEFAULTS[k]
        )
    }


def _version() -> tuple[int, int]:
    """(major, minor) of the installed transformers."""
    import transformers  # lazy: transformers takes seconds to import

    major, minor = transformers.__version__.split(".")[:2]
    return int(major), int(minor)


def transformers_major() -> int:
    """The major version of the installed transformers (4 or 5)."""
    return _version()[0]


def dtype_kwargs(dtype: Any) -> dict[str, Any]:
    """``{"dtype": dtype}`` (transformers >= 4.56) or ``{"torch_dtype": dtype}`` (older): the
    keyword of ``PreTrainedModel.from_pretrained`` that sets the weights' dtype."""
    return {"dtype": dtype} if _version() >= (4, 56) else {"torch_dtype": dtype}


def _byte_level_bpe(vocab: dict[str, int], merges: list[tuple[str, str]]) -> Any:
    """A 🤗 tokenizers ``Tokenizer`` exactly as transformers 5's ``RobertaTokenizer`` builds it
    (``add_prefix_space=False``, ``trim_offsets=True``)."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors  # lazy: optional
    from tokenizers.models import BPE  # lazy: tokenizers comes with transformers

    for token in ("<s>", "</s>"):
        if token not in vocab:
            raise ValueError(f"vocabulary: the special token {token!r} is missing")
    tokenizer = Tokenizer(
        BPE(
            vocab=vocab,
            merges=merges,
            dropout=None,
            continuing_subword_prefix="",
            end_of_word_suffix="",
            fuse_unk=False,
        )
    )
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", vocab["</s>"]), ("<s>", vocab["<s>"]), trim_offsets=True, add_prefix_space=False
    )
    return tokenizer


def bpe_tokenizer(vocab: dict[str, int], merges: list[tuple[str, str]]) -> Any:
    """A transformers RoBERTa tokenizer (byte-level BPE) from a vocabulary and its merges.

    Parameters
    ----------
    vocab : dict
        Token -> id, with roberta-base's special tokens ``<s>``, ``<pad>``, ``</s>``, ``<unk>``,
        ``<mask>``.
    merges : list of (str, str)
        The BPE merges, highest priority first.

    Returns
    -------
    transformers.RobertaTokenizerFast
        (transformers 5: the same class as ``RobertaTokenizer``). Same ids on both lines.
    """
    if transformers_major() >= 5:
        from transformers import RobertaTokenizer  # lazy: transformers takes seconds to import

        return RobertaTokenizer(vocab=vocab, merges=merges)
    from transformers import RobertaTokenizerFast  # lazy: transformers takes seconds to import

    return RobertaTokenizerFast(tokenizer_object=_byte_level_bpe(vocab, merges), **_SPECIAL)


def tokenizer_from_folder(folder: str | os.PathLike) -> Any:
    """``RobertaTokenizerFast.from_pretrained(folder, local_files_only=True)``: a Hugging Face
    tokenizer folder (``tokenizer.json``, or ``vocab.json`` + ``merges.txt``), never the network.

    Raises
    ------
    OSError, ValueError
        The folder holds no readable tokenizer (transformers' own errors).
    """
    from transformers import RobertaTokenizerFast  # lazy: transformers takes seconds to import

    return RobertaTokenizerFast.from_pretrained(os.fspath(folder), local_files_only=True)
