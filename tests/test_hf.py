"""Tests for the "hf" backend (transformers' ``ClapModel``): :mod:`humanclap.models.hf`.

Everything runs offline on one small random model (``hf.small_config()``) built once per module;
the tokenizer is humanclap's GPT-2 fallback (no roberta-base files here). References are
transformers' own pipeline (``ClapProcessor`` + ``ClapModel.get_*_features``) on the same weights.
The released Human-CLAP checkpoints are stood in for by that model's weights in their layout on
the hub, with a vocabulary shaped like roberta-base's made of GPT-2's tokens.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from humanclap import models  # noqa: E402
from humanclap.losses import sce  # noqa: E402
from humanclap.models import hf  # noqa: E402
from humanclap.models.hf.features import pooled  # noqa: E402
from humanclap.models.transformers_compat import transformers_major  # noqa: E402

SR = 48_000
CAPTIONS = ["a dog barks twice", "rain falls on a tin roof", "a dog barks twice"]
_ENV_OFFLINE = {"HF_HUB_OFFLINE": "1", "HUMANCLAP_OFFLINE": "1"}


def _hermetic(mp: pytest.MonkeyPatch, hf_cache: Path) -> None:
    for name, value in _ENV_OFFLINE.items():
        mp.setenv(name, value)
    mp.setenv("HF_HUB_CACHE", str(hf_cache))
    mp.delenv("HUMANCLAP_ROBERTA", raising=False)
    # the fake cache repositories below are at their own commit, not at humanclap's pins
    pins = hf_cache.parent / "unpinned.json"
    pins.write_text(json.dumps({hf.FUSED_REPO: {"revision": None}}))
    mp.setenv("HUMANCLAP_HUB_PINS", str(pins))


@pytest.fixture(autouse=True)
def _offline_hf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Offline, an empty private HF cache, two threads."""
    _hermetic(monkeypatch, tmp_path / "hf-cache")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> hf.HfClap:
    with pytest.MonkeyPatch.context() as mp:
        _hermetic(mp, tmp_path_factory.mktemp("hf-cache"))
        mp.setenv("HUMANCLAP_CACHE", str(tmp_path_factory.mktemp("humanclap-cache")))
        built = models.load("hf:random:3", config=hf.small_config())
    assert isinstance(built, hf.HfClap)
    return built


@pytest.fixture(scope="module")
def clips() -> list:
    """A 3 s tone, 10 s of noise (exactly the clip length) and 13 s of noise (a long clip)."""
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    tone = 0.3 * np.sin(2 * np.pi * 440.0 * t) * np.exp(-t)
    waves = [tone, 0.1 * rng.standard_normal(10 * SR), 0.1 * rng.standard_normal(13 * SR)]
    return [torch.tensor(w, dtype=torch.float32) for w in waves]


@pytest.fixture(scope="module")
def embeddings(model: hf.HfClap, clips: list) -> tuple:
    """(audio_emb of all clips, text_emb of CAPTIONS, audio_emb of the first two clips alone),
    on the two threads every test here runs with (a sum split over another number of threads
    differs in its last bits, and the tests compare some embeddings bit for bit)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.no_grad():
            return (
                model.embed_audio(clips),
                model.embed_text(CAPTIONS),
                model.embed_audio(clips[:2]),
            )
    finally:
        torch.set_num_threads(before)


def _processor(model: hf.HfClap):
    from transformers import ClapProcessor

    return ClapProcessor(feature_extractor=model.feature_extractor, tokenizer=model.tokenizer)


def _process_clip(processor, clip: torch.Tensor, return_tensors: str):
    """``ClapProcessor`` on one clip: its keyword is ``audio`` in transformers 5, ``audios`` in 4."""
    keyword = "audio" if transformers_major() >= 5 else "audios"
    return processor(**{keyword: clip.numpy()}, sampling_rate=SR, return_tensors=return_tensors)


def _reference_audio(clap, processor, clip: torch.Tensor, is_longer: bool | None = None):
    """transformers' pipeline on one clip: ClapProcessor -> get_audio_features -> normalise.
    (get_audio_features returns a ModelOutput in transformers 5, the tensor in 4: ``pooled``.)"""
    inputs = _process_clip(processor, clip, "pt")
    if is_longer is not None:
        inputs["is_longer"] = torch.tensor([[is_longer]])
    with torch.no_grad():
        out = clap.get_audio_features(**inputs)
    return torch.nn.functional.normalize(pooled(out), dim=-1)[0]


def _reference_text(clap, processor, texts: list[str]):
    inputs = processor(text=texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = clap.get_text_features(**inputs)
    return torch.nn.functional.normalize(pooled(out), dim=-1)


# ----------------------------------------------------------------------------- embeddings
def test_embeddings_have_shape_unit_norm_and_separate_inputs(model, clips, embeddings):
    audio_emb, text_emb, _ = embeddings
    assert model.backend == "hf" and model.sample_rate == SR and model.max_seconds == 10.0
    assert model.embed_dim == 64 == audio_emb.shape[1]
    assert audio_emb.shape == (3, 64) and text_emb.shape == (3, 64)
    torch.testing.assert_close(audio_emb.norm(dim=1), torch.ones(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(text_emb.norm(dim=1), torch.ones(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(text_emb[0], text_emb[2], atol=1e-6, rtol=0)  # same caption
    assert (text_emb[0] - text_emb[1]).abs().max() > 1e-3
    assert (audio_emb[0] - audio_emb[1]).abs().max() > 1e-3
    with torch.no_grad():
        alone = model.embed_audio([clips[0]])  # no dependence on the rest of the batch
        again = model.embed_audio(clips[:2])
        pair = model.embed_audio(torch.stack([clips[1][:SR], clips[1][SR : 2 * SR]]))
    torch.testing.assert_close(alone[0], audio_emb[0], atol=1e-5, rtol=0)
    assert torch.equal(again, embeddings[2])  # deterministic
    torch.testing.assert_close(again, audio_emb[:2], atol=1e-5, rtol=0)
    assert pair.shape == (2, 64)


def test_embeddings_equal_transformers_pipeline(model, clips, embeddings):
    audio_emb, text_emb, _ = embeddings
    processor = _processor(model)
    refs = [_reference_audio(model.clap, processor, clip) for clip in clips[:2]]
    ref_text = _reference_text(model.clap, processor, CAPTIONS)
    torch.testing.assert_close(audio_emb[:2], torch.stack(refs), atol=1e-5, rtol=0)
    torch.testing.assert_close(text_emb, ref_text, atol=1e-5, rtol=0)
    cosine = audio_emb[:2] @ text_emb.T  # the CLAPScore
    torch.testing.assert_close(cosine, torch.stack(refs) @ ref_text.T, atol=1e-5, rtol=0)
    # a short clip under "fusion" is marked is_longer, as ClapProcessor does for one clip
    assert model.clip_features(clips[0])[1] is True


def test_long_clip_takes_the_centre_chunks(model, clips, embeddings, monkeypatch):
    long = clips[2]
    features, longer = model.clip_features(long)
    assert features.shape == (4, 1001, 64) and longer is True
    # transformers draws each chunk start at random from a third; make it take the middle
    monkeypatch.setattr(np.random, "choice", lambda a: a[len(a) // 2])
    processor = _processor(model)
    ref = _process_clip(processor, long, "np")
    np.testing.assert_allclose(features, ref["input_features"][0], atol=1e-4, rtol=0)
    torch.testing.assert_close(
        embeddings[0][2], _reference_audio(model.clap, processor, long), atol=1e-5, rtol=0
    )


def test_fuse_short_clips_false_skips_the_fusion_branch(model, clips, embeddings):
    plain = hf.HfClap(
        model.clap, model.feature_extractor, model.tokenizer, model.spec, fuse_short_clips=False
    )
    assert plain.clip_features(clips[0])[1] is False
    assert plain.config["arch"]["fuse_short_clips"] is False
    assert plain.fingerprint != model.fingerprint
    with torch.no_grad():
        emb = plain.embed_audio([clips[0]])[0]
    ref = _reference_audio(model.clap, _processor(model), clips[0], is_longer=False)
    torch.testing.assert_close(emb, ref, atol=1e-5, rtol=0)
    assert (emb - embeddings[0][0]).abs().max() > 1e-4


def test_unfused_model_uses_rand_trunc_with_the_first_window(model, clips, monkeypatch):
    unfused = models.load(
        "hf:random:1", config=hf.small_config(fusion=False), tokenizer=model.tokenizer
    )
    assert unfused.feature_extractor.truncation == "rand_trunc"
    monkeypatch.setattr(np.random, "randint", lambda *args, **kwargs: 0)
    processor = _processor(unfused)
    with torch.no_grad():
        emb = unfused.embed_audio([clips[0], clips[2]])
    refs = [_reference_audio(unfused.clap, processor, clip) for clip in (clips[0], clips[2])]
    torch.testing.assert_close(emb, torch.stack(refs), atol=1e-5, rtol=0)
    features, longer = unfused.clip_features(clips[2])
    assert features.shape == (1, 1001, 64) and longer is True


# ----------------------------------------------------------------------------- save and reload
def test_save_and_load_give_identical_embeddings(model, clips, embeddings, tmp_path):
    path = model.save(tmp_path / "hf.pt")
    checkpoint = torch.load(path, weights_only=True)
    json.dumps(checkpoint["config"])  # primitives only
    assert checkpoint["config"]["arch"]["tokenizer"] == "gpt2-bpe"
    loaded = models.load(path)
    assert isinstance(loaded, hf.HfClap) and loaded.spec == "hf:random:3"
    assert loaded.config == model.config and loaded.fingerprint == model.fingerprint
    with torch.no_grad():
        assert torch.equal(loaded.embed_audio(clips[:2]), embeddings[2])
        assert torch.equal(loaded.embed_text(CAPTIONS), embeddings[1])


def test_save_pretrained_round_trips_through_hf_folder(model, clips, embeddings, tmp_path):
    folder = model.save_pretrained(tmp_path / "clap")
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= names
    assert {"tokenizer.json", hf.SETTINGS_FILE} <= names
    loaded = models.load(f"hf:{folder}")
    assert loaded.spec == f"hf:{folder}" and loaded.fingerprint == model.fingerprint
    with torch.no_grad():
        assert torch.equal(loaded.embed_audio(clips[:2]), embeddings[2])
        assert torch.equal(loaded.embed_text(CAPTIONS), embeddings[1])
    # transformers alone reads the folder and computes the same scores
    from transformers import ClapModel, ClapProcessor

    clap = ClapModel.from_pretrained(folder).eval()
    processor = ClapProcessor.from_pretrained(folder)
    ref = _reference_audio(clap, processor, clips[0])
    torch.testing.assert_close(ref, embeddings[0][0], atol=1e-5, rtol=0)
    torch.testing.assert_close(
        _reference_text(clap, processor, CAPTIONS), embeddings[1], atol=1e-5, rtol=0
    )


def test_save_pretrained_keeps_processor_settings_and_replaces_folder(model, tmp_path):
    from transformers import ClapFeatureExtractor

    settings = dict(hf.FUSED_FEATURE_EXTRACTOR, frequency_max=12_000)
    custom = hf.HfClap(
        model.clap,
        ClapFeatureExtractor(**settings),
        model.tokenizer,
        model.spec,
        fuse_short_clips=False,
        max_text_tokens=64,
    )
    folder = tmp_path / "custom"
    model.save_pretrained(folder)
    custom.save_pretrained(folder)  # replaces the first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers
    loaded = models.load(f"hf:{folder}")
    assert loaded.config["arch"] == custom.config["arch"]
    assert loaded.config["arch"]["feature_extractor"]["frequency_max"] == 12_000
    assert loaded.fuse_short_clips is False and loaded.max_text_tokens == 64


def _fake_cache_repo(cache: Path, repo_id: str, files: list[Path]) -> str:
    """Lay ``files`` out as huggingface_hub's cache does for ``repo_id`` (main = a commit)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = root / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for file in files:
        shutil.copy(file, snapshot / file.name)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit)
    return commit


def test_offline_repo_loads_from_the_hf_cache(model, clips, embeddings, tmp_path, monkeypatch):
    folder = model.save_pretrained(tmp_path / "saved")
    cache = tmp_path / "cache"
    commit = _fake_cache_repo(cache, "someone/tiny-clap", sorted(folder.iterdir()))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    loaded = models.load("hf:someone/tiny-clap")
    assert loaded.spec == "hf:someone/tiny-clap" and loaded.fingerprint == model.fingerprint
    assert loaded.config["provenance"]["revision"] == commit
    with torch.no_grad():
        assert torch.equal(loaded.embed_audio(clips[:2]), embeddings[2])


def test_weights_only_repo_needs_roberta_and_refuses_other_vocabularies(
    model, tmp_path, monkeypatch
):
    folder = model.save_pretrained(tmp_path / "saved")
    cache = tmp_path / "cache"
    _fake_cache_repo(
        cache, "someone/weights-only", [folder / "config.json", folder / "model.safetensors"]
    )
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    from humanclap.models.tokenizer import TokenizerNotFoundError, TokenizerVocabError

    with pytest.raises(TokenizerNotFoundError, match="laion/clap-htsat-fused"):
        models.load("hf:someone/weights-only")
    # laion/clap-htsat-fused "cached" with a tokenizer that is not roberta-base's: refused
    _fake_cache_repo(
        cache, hf.FUSED_REPO, [folder / "tokenizer.json", folder / "tokenizer_config.json"]
    )
    with pytest.raises(TokenizerVocabError, match="roberta-base"):
        models.load("hf:someone/weights-only")


# ----------------------------------------------------------------------------- failures
@pytest.mark.parametrize("switch", ["HF_HUB_OFFLINE", "HUMANCLAP_OFFLINE"])
def test_offline_unknown_repo_fails_fast_with_instructions(switch, monkeypatch):
    for name in _ENV_OFFLINE:
        monkeypatch.delenv(name)
    monkeypatch.setenv(switch, "1")
    start = time.monotonic()
    with pytest.raises(hf.HfModelNotFoundError) as info:
        models.load("hf:nobody-here/no-such-clap")
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert "hf:nobody-here/no-such-clap" in message and switch in message
    assert "hf download nobody-here/no-such-clap" in message and "hf:<that folder>" in message
    assert elapsed < 15  # a hang guard (the spec's bound), not a performance test


def test_unreachable_hub_fails_with_instructions(monkeypatch):
    for name in _ENV_OFFLINE:
        monkeypatch.delenv(name)
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(hf.HfModelNotFoundError, match="could not download") as info:
        models.load("hf:nobody-here/no-such-clap")
    assert "hf download nobody-here/no-such-clap" in str(info.value)


def test_bad_specs_and_options_are_explained(model, tmp_path):
    with pytest.raises(ValueError, match="hf:random"):
        models.load("hf:")
    with pytest.raises(ValueError, match="not an integer"):
        models.load("hf:random:x")
    with pytest.raises(ValueError, match="neither a folder nor a hub repository"):
        models.load("hf:bad name!")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        models.load(f"hf:{tmp_path / 'missing'}")
    with pytest.raises(TypeError, match="bogus"):
        models.load("hf:random", bogus=1)
    other = tmp_path / "roberta"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "roberta"}))
    (other / "model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match="not a transformers ClapModel"):
        models.load(f"hf:{other}")
    config = hf.small_config()
    config.audio_config.hidden_size = 100
    with pytest.raises(ValueError, match="hidden_size"):
        models.load("hf:random", config=config, tokenizer=model.tokenizer)
    from transformers import ClapFeatureExtractor

    with pytest.raises(ValueError, match="rand_trunc"):
        hf.HfClap(model.clap, ClapFeatureExtractor(truncation="rand_trunc"), model.tokenizer)


# ----------------------------------------------------------------------------- training
def test_tower_blocks_and_heads_partition_the_parameters(model):
    blocks = model.tower_blocks()
    assert len(blocks["audio"]) == 5 and len(blocks["text"]) == 3  # 4 stages + stem; 2 layers + 1
    owners: dict[int, int] = {}
    for block in [*blocks["audio"], *blocks["text"]]:
        for p in block.parameters():
            owners[id(p)] = owners.get(id(p), 0) + 1
    for p in model.head_parameters():
        owners[id(p)] = owners.get(id(p), 0) + 1
    assert set(owners) == {id(p) for p in model.parameters()}
    assert set(owners.values()) == {1}


def test_projection_step_changes_only_heads_and_gradients_reach_towers(model, clips):
    copy = hf.HfClap.from_checkpoint(model.spec, model.config, model.checkpoint()["state_dict"])
    assert copy.fingerprint == model.fingerprint  # from_config + weights rebuild it exactly
    trainable = copy.trainable_parameters("projections")
    head = {id(p) for p in copy.head_parameters()}
    assert {id(p) for p in trainable} == head
    before = {n: p.detach().clone() for n, p in copy.named_parameters()}
    optimiser = torch.optim.SGD(trainable, lr=0.5)
    loss = sce(copy.embed_audio(clips[:2]), copy.embed_text(CAPTIONS[:2]), copy.logit_scale)
    loss.backward()
    optimiser.step()
    # parameters only: in train mode BatchNorm running statistics (buffers) move as well
    changed = {n for n, p in copy.named_parameters() if not torch.equal(p, before[n])}
    head_names = {n for n, p in copy.named_parameters() if id(p) in head}
    assert changed and changed <= head_names
    assert any("audio_projection" in n for n in changed) and any(
        "text_projection" in n for n in changed
    )
    assert copy.fingerprint != model.fingerprint

    copy.trainable_parameters("all")
    copy.zero_grad()
    loss = sce(copy.embed_audio(clips[:2]), copy.embed_text(CAPTIONS[:2]), copy.logit_scale)
    loss.backward()
    audio_in = copy.clap.audio_model.audio_encoder.patch_embed.proj.weight
    text_in = copy.clap.text_model.embeddings.word_embeddings.weight
    assert audio_in.grad is not None and audio_in.grad.abs().sum() > 0
    assert text_in.grad is not None and text_in.grad.abs().sum() > 0


def test_random_seeds_are_reproducible(model):
    config = hf.small_config()
    same = models.load("hf:random", seed=3, config=config, tokenizer=model.tokenizer)
    other = models.load("hf:random:4", config=config, tokenizer=model.tokenizer)
    assert same.fingerprint == model.fingerprint
    assert other.fingerprint != model.fingerprint


# ----------------------------------------------------------------------------- released checkpoints
#: The Human-CLAP checkpoint the book uses; its five siblings share its layout.
RELEASED = "sarulab-speech/human-clap-wsce-mae"
_TEXT_BUFFERS = ("text_model.embeddings.position_ids", "text_model.embeddings.token_type_ids")
_ROBERTA_SPECIALS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "pad_token": "<pad>",
}


def _roberta_shaped_vocab(gpt2_tokenizer) -> dict[str, int]:
    """roberta-base's layout filled with GPT-2's tokens (roberta-base's own files are not on the
    test machines): ``<s> <pad> </s> <unk>`` = 0..3, ``"."`` = 4, ``"Ġthe"`` = 5, the other GPT-2
    tokens, ``madeupword0000..0002``, ``<mask>`` = 50,264: 50,265 tokens, which
    :func:`hf.vocab_name` calls roberta-base. Other ids differ from roberta-base's."""
    ids = gpt2_tokenizer.get_vocab()
    gpt2 = [t for t, i in sorted(ids.items(), key=lambda item: item[1]) if 4 <= i < ids["<mask>"]]
    order = ["<s>", "<pad>", "</s>", "<unk>", ".", "Ġthe"]
    order += [t for t in gpt2 if t not in (".", "Ġthe")]
    order += [f"madeupword{i:04d}" for i in range(3)] + ["<mask>"]
    return {token: i for i, token in enumerate(order)}


def _write_release_processor(folder: Path, vocab: dict[str, int]) -> None:
    """``preprocessor_config.json`` (laion/clap-htsat-fused's settings) and RoBERTa's tokenizer
    files as transformers 4 saved them: vocab.json, merges.txt, tokenizer_config.json,
    special_tokens_map.json."""
    from test_tokenizer import _write_vocab_merges
    from transformers import ClapFeatureExtractor

    ClapFeatureExtractor(**hf.FUSED_FEATURE_EXTRACTOR).save_pretrained(folder)
    _write_vocab_merges(folder, types.SimpleNamespace(get_vocab=lambda: vocab))
    tokenizer_config = {
        "tokenizer_class": "RobertaTokenizer",
        "model_max_length": 512,
        "add_prefix_space": False,
        "errors": "replace",
        "trim_offsets": True,
        "mask_token": "<mask>",
        **_ROBERTA_SPECIALS,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    mask = {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False}
    specials = {**_ROBERTA_SPECIALS, "mask_token": {**mask, "single_word": False}}
    (folder / "special_tokens_map.json").write_text(json.dumps(specials))


def _write_release_weights(folder: Path, clap, drop: tuple[str, ...] = ()) -> None:
    """``ClapModel.save_pretrained``: config.json (with the keys an older transformers writes)
    and model.safetensors, without the tensors named in ``drop``."""
    from safetensors.torch import load_file, save_file

    clap.save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config["torch_dtype"] = config.pop("dtype", "float32")
    config["transformers_version"] = "4.46.3"
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    if drop:
        tensors = load_file(folder / "model.safetensors")
        assert set(drop) <= set(tensors)
        save_file(
            {k: v for k, v in tensors.items() if k not in drop},
            folder / "model.safetensors",
            metadata={"format": "pt"},
        )


@pytest.fixture(scope="module")
def released(model: hf.HfClap, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Folders laid out as the released checkpoints may be, with ``model``'s weights (small,
    fused): ``"full"`` (weights, preprocessor_config.json, tokenizer files), ``"weights"``
    (config.json + model.safetensors only, without the text tower's two index buffers) and
    ``"laion"`` (the processor files of laion/clap-htsat-fused, with which the official usage
    pairs a weights-only checkpoint)."""
    root = tmp_path_factory.mktemp("released")
    vocab = _roberta_shaped_vocab(model.tokenizer)
    folders = {name: root / name for name in ("full", "weights", "laion")}
    _write_release_weights(folders["full"], model.clap)
    _write_release_processor(folders["full"], vocab)
    _write_release_weights(folders["weights"], model.clap, drop=_TEXT_BUFFERS)
    folders["laion"].mkdir()
    _write_release_processor(folders["laion"], vocab)
    return folders


def _assert_same_state(clap, reference) -> None:
    ours, theirs = clap.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys()
    for name, tensor in theirs.items():
        assert torch.equal(ours[name], tensor), name


def _transformers_pipeline(repo_id: str, processor_repo: str, cache: Path, clips, texts):
    """The official usage, offline: ``ClapModel.from_pretrained(repo_id)`` and
    ``ClapProcessor.from_pretrained(processor_repo)`` -> (audio_emb, text_emb)."""
    from transformers import ClapModel, ClapProcessor

    clap = ClapModel.from_pretrained(repo_id, cache_dir=cache, local_files_only=True).eval()
    processor = ClapProcessor.from_pretrained(
        processor_repo, cache_dir=cache, local_files_only=True
    )
    audio = torch.stack([_reference_audio(clap, processor, clip) for clip in clips])
    return audio, _reference_text(clap, processor, texts)


def test_released_layout_loads_from_folder_and_hub_cache(
    model, released, clips, tmp_path, monkeypatch
):
    folder = released["full"]
    names = {p.name for p in folder.iterdir()}
    assert names == {
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "vocab.json",
        "merges.txt",
        "tokenizer_config.json",
        "special_tokens_map.json",
    }
    by_folder = models.load(f"hf:{folder}")
    cache = tmp_path / "hub"
    commit = _fake_cache_repo(cache, RELEASED, sorted(folder.iterdir()))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    by_repo = models.load(f"hf:{RELEASED}")
    assert by_repo.spec == f"hf:{RELEASED}" and by_folder.spec == f"hf:{folder}"
    provenance = by_repo.config["provenance"]
    assert provenance["repo"] == RELEASED and provenance["revision"] == commit
    assert provenance["tokenizer"] == provenance["feature_extractor"] == provenance["source"]
    arch = by_repo.config["arch"]
    assert arch["tokenizer"] == "roberta-base" and arch["fuse_short_clips"] is True
    assert arch["feature_extractor"] == hf.FUSED_FEATURE_EXTRACTOR
    assert by_repo.fingerprint == by_folder.fingerprint
    # out of safetensors' memory map into aligned storage: the same CPU kernels as the saved model
    assert all(t.data_ptr() % 64 == 0 for t in by_repo.clap.state_dict().values())

    # transformers' own pipeline on the same snapshot (long clip: the centre chunks)
    monkeypatch.setattr(np.random, "choice", lambda a: a[len(a) // 2])
    ref_audio, ref_text = _transformers_pipeline(RELEASED, RELEASED, cache, clips, CAPTIONS)
    with torch.no_grad():
        for loaded in (by_folder, by_repo):
            _assert_same_state(loaded.clap, model.clap)  # the weights, bit for bit
            audio_emb = loaded.embed_audio(clips)
            torch.testing.assert_close(audio_emb, ref_audio, atol=1e-5, rtol=0)
            text_emb = loaded.embed_text(CAPTIONS)
            torch.testing.assert_close(text_emb, ref_text, atol=1e-5, rtol=0)


def test_weights_only_release_takes_the_fused_processor(
    model, released, clips, tmp_path, monkeypatch
):
    weights = released["weights"]
    cache = tmp_path / "hub"
    _fake_cache_repo(cache, RELEASED, [weights / "config.json", weights / "model.safetensors"])
    laion = [*released["laion"].iterdir(), weights / "config.json"]  # its config.json is read
    _fake_cache_repo(cache, hf.FUSED_REPO, sorted(laion))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    loaded = models.load(f"hf:{RELEASED}")
    provenance = loaded.config["provenance"]
    assert provenance["feature_extractor"].startswith(hf.FUSED_REPO)
    assert provenance["tokenizer"].startswith(hf.FUSED_REPO)
    assert loaded.config["arch"]["tokenizer"] == "roberta-base"
    # the text tower's index buffers absent from the file are rebuilt, not left uninitialised
    _assert_same_state(loaded.clap, model.clap)
    ref_audio, ref_text = _transformers_pipeline(
        RELEASED, hf.FUSED_REPO, cache, clips[:2], CAPTIONS
    )
    with torch.no_grad():
        audio_emb = loaded.embed_audio(clips[:2])
        text_emb = loaded.embed_text(CAPTIONS)
    torch.testing.assert_close(audio_emb, ref_audio, atol=1e-5, rtol=0)
    torch.testing.assert_close(text_emb, ref_text, atol=1e-5, rtol=0)


def test_released_base_reads_enable_fusion(model, released, tmp_path, monkeypatch):
    fused, unfused = "hf:laion/clap-htsat-fused", "hf:laion/clap-htsat-unfused"
    folders = {}
    for fusion in (True, False):
        folders[fusion] = tmp_path / f"fusion-{fusion}"
        hf.random_config(fusion).save_pretrained(folders[fusion])  # all that is read: config.json
    assert hf.released_base(folders[True]) == fused
    assert hf.released_base(f"hf:{folders[False]}") == unfused
    assert hf.released_base(folders[False] / "config.json") == unfused
    assert hf.released_base(hf.random_config(True)) == fused
    assert hf.released_base(hf.random_config(False).to_dict()) == unfused
    cache = tmp_path / "hub"
    _fake_cache_repo(cache, "sarulab-speech/human-clap-mse", [folders[True] / "config.json"])
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert hf.released_base("hf:sarulab-speech/human-clap-mse") == fused  # config.json alone
    assert hf.released_base("sarulab-speech/human-clap-mse") == fused
    with pytest.raises(hf.HfModelNotFoundError, match="offline"):
        hf.released_base("hf:sarulab-speech/human-clap-sce")
    # parameter shapes that are neither base's: refused, the fields named
    with pytest.raises(ValueError, match=r"projection_dim: 64 \(base: 512\)"):
        hf.released_base(released["full"])
    with pytest.raises(ValueError, match=r"audio_config\.depths: \[1, 1, 1, 1\]"):
        hf.released_base(model)
    assert hf.htsat_base_differences(hf.random_config(False)) == []
    with pytest.raises(FileNotFoundError, match="no config.json"):
        hf.released_base(tmp_path / "missing")
    with pytest.raises(ValueError, match="random"):
        hf.released_base("hf:random:3")
    other = tmp_path / "roberta"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "roberta"}))
    with pytest.raises(ValueError, match="not a ClapModel"):
        hf.released_base(other)
