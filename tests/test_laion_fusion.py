"""LAION-CLAP's fusion front end in plain torch (humanclap.models.laion.preprocess), no torchaudio.

laion computes the fusion input with torchaudio (``training/data.py: get_mel``); humanclap with
``torch.stft`` and :func:`humanclap.models.frontend.mel_filterbank`. References here: torchaudio's
``melscale_fbanks`` written out by hand (torchaudio cannot be installed next to torch 2.14),
transformers' numpy ``ClapFeatureExtractor`` (laion's fused features in float64 numpy), and a
sine whose power is known in closed form.

Tolerances against transformers. With the same filter bank and a float64 wave the two agree to
< 1e-5 dB everywhere (4e-6 measured): same STFT, padding, power and dB. What the model computes
differs in two roundings: torchaudio's filter bank is computed in float32 (it differs from
transformers' float64 one by 5.6e-6), and the STFT runs in float32 (rounding at ~1e-7 of a
frame's energy). Bands within 60 dB of their frame's loudest then agree to < 2e-3 dB (1.1e-3
measured); bands 100+ dB below it (the far leakage of a pure tone) differ by up to 0.03 dB
measured, < 0.5 dB accepted: they are the float32 noise floor of the STFT.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
from test_laion import SR, _tone, env  # noqa: E402, F401 (env: the module-scoped offline setup)

from humanclap import models  # noqa: E402
from humanclap.models import frontend  # noqa: E402
from humanclap.models.laion import library  # noqa: E402
from humanclap.models.laion import preprocess as pp  # noqa: E402

#: laion_clap 1.1.7's ``audio_cfg`` of every HTS-AT model (``model_configs/HTSAT-*.json``).
CFG = {
    "sample_rate": 48_000,
    "window_size": 1024,
    "hop_size": 480,
    "mel_bins": 64,
    "fmin": 50,
    "fmax": 14_000,
}
CHUNK_FRAMES = 480_000 // 480 + 1  # 1001


def _torchaudio_melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate) -> torch.Tensor:
    """torchaudio 2.x ``functional.melscale_fbanks(..., norm=None, mel_scale="htk")``, verbatim."""
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_min = 2595.0 * math.log10(1.0 + (f_min / 700.0))
    m_max = 2595.0 * math.log10(1.0 + (f_max / 700.0))
    m_pts = torch.linspace(m_min, m_max, n_mels + 2)
    f_pts = 700.0 * (10.0 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up_slopes = slopes[:, 2:] / f_diff[1:]
    return torch.max(torch.zeros(1), torch.min(down_slopes, up_slopes))


@pytest.fixture(scope="module")
def extractor():
    from transformers import ClapFeatureExtractor

    from humanclap.models.hf.config import FUSED_FEATURE_EXTRACTOR

    return ClapFeatureExtractor(**FUSED_FEATURE_EXTRACTOR)  # laion/clap-htsat-fused's settings


def _numpy_mel(extractor, wave: torch.Tensor, filters: np.ndarray | None = None) -> np.ndarray:
    """transformers' numpy mel in dB (frames, 64) of ``wave`` (no padding, no quantisation)."""
    filters = extractor.mel_filters if filters is None else filters
    return extractor._np_extract_fbank_features(wave.double().numpy(), filters)


# ----------------------------------------------------------------------------- filter bank
@pytest.mark.parametrize("window", [1024, 1536])
def test_filter_bank_is_torchaudios(window, extractor):
    cfg = {**CFG, "window_size": window}
    ours = pp.mel_basis(cfg)
    n_freqs = window // 2 + 1
    assert ours.shape == (n_freqs, 64) and ours.dtype == torch.float32
    assert torch.equal(ours, _torchaudio_melscale_fbanks(n_freqs, 50.0, 14_000.0, 64, 48_000))
    # the tiny CLAP's float64 arithmetic and transformers' float64 numpy agree to float32 rounding
    tiny_way = frontend.mel_filterbank(48_000, window, 64, 50.0, 14_000.0).T
    assert (ours - tiny_way).abs().max().item() < 1e-5
    if window == 1024:
        assert np.abs(ours.numpy() - extractor.mel_filters).max() < 1e-5


def test_filter_bank_by_hand():
    fb = pp.mel_basis(CFG).double()  # (513, 64)

    def htk(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    lo, hi = htk(50.0), htk(14_000.0)
    mel = [lo + (hi - lo) * i / 65 for i in range(66)]
    edges = [700.0 * (10.0 ** (m / 2595.0) - 1.0) for m in mel]
    bin_hz = 48_000 / 1024
    for band in (0, 1, 20, 40, 63):
        left, centre, right = edges[band : band + 3]
        for b in range(513):
            f = b * bin_hz
            want = max(0.0, min((f - left) / (centre - left), (right - f) / (right - centre)))
            assert fb[b, band].item() == pytest.approx(want, abs=1e-5), (band, b)
        assert abs(fb[:, band].argmax().item() * bin_hz - centre) <= bin_hz  # peaks at its centre
    assert (fb >= 0).all() and (fb <= 1).all() and (fb.sum(dim=0) > 0).all()  # no empty band
    assert fb[: math.floor(50.0 / bin_hz) + 1].sum() == 0  # nothing below f_min = 50 Hz
    assert fb[math.ceil(14_000.0 / bin_hz) :].sum() == 0  # nor above f_max = 14 kHz


# ----------------------------------------------------------------------------- mel spectrogram
def test_sine_power_in_closed_form():
    """A sine at FFT bin k, amplitude A: with a periodic Hann window of N samples its power is
    (A N / 4)^2 in bin k, (A N / 8)^2 in bins k +- 1 and 0 elsewhere (interior frames)."""
    amp, k, n = 0.5, 64, 1024  # 3000 Hz
    t = torch.arange(SR, dtype=torch.float64) / SR
    wave = amp * torch.sin(2 * math.pi * k * (SR / n) * t + 0.3)
    fb = pp.mel_basis(CFG).double()
    power = fb[k] * (amp * n / 4) ** 2 + (fb[k - 1] + fb[k + 1]) * (amp * n / 8) ** 2
    want = 10.0 * torch.log10(torch.clamp(power, min=1e-10))  # (64,)
    for dtype, tol in ((torch.float64, 1e-6), (torch.float32, 2e-3)):
        mel = pp.laion_mel(wave.to(dtype), CFG)
        assert mel.shape == (1 + SR // 480, 64) and mel.dtype == dtype
        inner = mel[3:-3].double()
        loud = want > want.max() - 60
        assert (inner[:, loud] - want[loud]).abs().max().item() < tol
        assert (inner.argmax(dim=1) == fb[k].argmax()).all()  # the band whose triangle holds k
        assert (inner[:, ~loud] < want.max() - 60).all()
    silence = pp.laion_mel(torch.zeros(SR), CFG)
    assert torch.equal(silence, torch.full_like(silence, -100.0))  # the 1e-10 floor, as laion


def test_float64_mel_equals_transformers_numpy(extractor):
    """Same STFT, padding, power, filter bank and dB: agreement to rounding (< 1e-5 dB)."""
    clips = [
        _tone(440.0, 2.5),
        _tone(1000.0, 3.0, amp=0.8) - 0.01 * torch.randn(3 * SR),  # not quantised: any wave
        torch.sin(2 * math.pi * 1000.0 * torch.arange(SR) / SR) * 0.3,  # pure tone
    ]
    filters = pp.mel_basis(CFG).double().numpy()
    for wave in clips:
        ours = pp.laion_mel(wave.double(), CFG).numpy()
        ref = _numpy_mel(extractor, wave, filters)
        assert ours.shape == ref.shape == (1 + wave.shape[0] // 480, 64)
        assert np.abs(ours - ref).max() < 1e-5


@pytest.mark.parametrize("seconds", [3.0, 10.0])
def test_fused_input_equals_transformers_for_short_clips(seconds, extractor):
    """What the model gets (float32) against ``ClapFeatureExtractor(..., truncation="fusion")``
    on the same int16-quantised clip (transformers does not quantise)."""
    wave = _tone(700.0, seconds, seed=4)
    ours = pp.audio_features(wave, CFG, fusion=True)
    ref = extractor(
        pp.quantize_int16(wave).numpy(),
        sampling_rate=SR,
        truncation="fusion",
        padding="repeatpad",
        return_tensors="np",
    )["input_features"][0]
    assert ours["mel_fusion"].shape == ref.shape == (4, CHUNK_FRAMES, 64)
    assert np.abs(ours["mel_fusion"].numpy() - ref).max() < 2e-3
    # a pure tone: float32 rounding shows only far below each frame's loudest band
    pure = torch.sin(2 * math.pi * 1000.0 * torch.arange(int(seconds * SR)) / SR) * 0.3
    ours = pp.audio_features(pure, CFG, fusion=True)["mel_fusion"][0].numpy()
    ref = _numpy_mel(extractor, pp.repeatpad(pp.quantize_int16(pure)))
    loud = ref > ref.max(axis=1, keepdims=True) - 60
    assert np.abs(ours - ref)[loud].max() < 2e-3 and np.abs(ours - ref).max() < 0.5


def test_fused_input_of_a_long_clip(extractor):
    """14 s: channel 0 is the whole mel shrunk by laion's torchvision ``Resize`` (antialiased
    bilinear; transformers uses plain bilinear, which differs by dB), 1-3 the chunks at
    :func:`fusion_starts`."""
    import torch.nn.functional as F

    wave = _tone(440.0, 14.0, seed=5)
    feats = pp.audio_features(wave, CFG, fusion=True)
    mel = _numpy_mel(extractor, pp.quantize_int16(wave))  # (1401, 64)
    assert mel.shape == (1401, 64) and bool(feats["longer"]) is True
    starts = pp.fusion_starts(1401, CHUNK_FRAMES)
    assert starts == [67, 201, 334]  # middles of 0..133, 134..267, 268..400
    for total in range(CHUNK_FRAMES, CHUNK_FRAMES + 700, 7):  # laion's thirds, their middles
        thirds = np.array_split(np.arange(total - CHUNK_FRAMES + 1), 3)
        middles = [int(third[len(third) // 2]) if len(third) else 0 for third in thirds]
        assert pp.fusion_starts(total, CHUNK_FRAMES) == middles
    fused = feats["mel_fusion"].numpy()
    for channel, start in enumerate(starts, 1):
        assert np.abs(fused[channel] - mel[start : start + CHUNK_FRAMES]).max() < 2e-3
    whole = torch.from_numpy(mel)[None, None]
    size = [CHUNK_FRAMES, 64]
    laion_shrink = F.interpolate(whole, size, mode="bilinear", align_corners=False, antialias=True)
    assert np.abs(fused[0] - laion_shrink[0, 0].numpy()).max() < 2e-3
    plain = F.interpolate(whole, size, mode="bilinear", align_corners=False)[0, 0].numpy()
    assert np.abs(fused[0] - plain).max() > 0.1  # transformers' shrink is not laion's
    assert torch.equal(feats["waveform"], pp.quantize_int16(wave)[:480_000])


@pytest.mark.parametrize(
    ("samples", "longer"),
    [(14 * SR, True), (480_000 + 480, True), (480_000 + 479, False), (480_000, False), (3 * SR, False)],
)  # fmt: skip
def test_fused_input_shape_and_determinism(samples, longer):
    wave = _tone(330.0, samples / SR, seed=6)
    assert wave.shape[0] == samples
    first = pp.audio_features(wave, CFG, fusion=True)
    again = pp.audio_features(wave.clone(), CFG, fusion=True)
    assert first.keys() == {"waveform", "longer", "mel_fusion"}
    assert first["mel_fusion"].shape == (4, CHUNK_FRAMES, 64)
    assert first["waveform"].shape == (480_000,)
    assert first["longer"].tolist() == [longer]
    assert all(torch.equal(first[k], again[k]) for k in first)
    same = [torch.equal(first["mel_fusion"][0], first["mel_fusion"][c]) for c in (1, 2, 3)]
    assert all(same) is not longer  # 4 copies unless the clip is longer than 10 s + one hop


# ----------------------------------------------------------------------------- models
@pytest.fixture(scope="module")
def fusion_model(env):  # noqa: F811 (test_laion's fixture, imported above)
    env.setitem(sys.modules, "torchaudio", None)  # any "import torchaudio" fails from here on
    # and so does laion's data module (test_laion may have imported it for its own checks)
    env.setitem(sys.modules, "laion_clap.training.data", None)
    return models.load("laion:random", fusion=True)


def test_fusion_model_embeds_without_torchaudio(fusion_model):
    assert not hasattr(library, "torchaudio_module")
    assert fusion_model.config["arch"]["fusion"] is True
    assert {k: fusion_model.audio_cfg[k] for k in CFG} == CFG  # laion's settings, as tested
    clips = [_tone(440.0, 14.0), _tone(1000.0, 3.0, seed=1)]
    with torch.no_grad():
        emb = fusion_model.embed_audio(clips)
        again = fusion_model.embed_audio(clips)
    assert emb.shape == (2, 512) and torch.isfinite(emb).all()
    assert torch.allclose(emb.norm(dim=1), torch.ones(2), atol=1e-5)
    assert torch.equal(emb, again)
    assert (emb[0] @ emb[1]).item() < 1 - 1e-4
    assert sys.modules["torchaudio"] is None and sys.modules["laion_clap.training.data"] is None


def test_tiny_clap_filter_bank_unchanged():
    """The tiny CLAP's filter bank is bit for bit what it was before laion shared it: the
    float64 code of ``frontend.mel_filterbank`` before ``compute_dtype``, copied here."""

    def before(sample_rate, n_fft, n_mels, f_min=0.0, f_max=None):
        f_max = sample_rate / 2.0 if f_max is None else float(f_max)
        fft_freqs = torch.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1, dtype=torch.float64)
        edges = frontend.hz_to_mel(f_min).item(), frontend.hz_to_mel(f_max).item()
        mel_points = torch.linspace(*edges, n_mels + 2, dtype=torch.float64)
        hz_points = 700.0 * (10.0 ** (mel_points / 2595.0) - 1.0)
        widths = hz_points[1:] - hz_points[:-1]
        ramps = hz_points[:, None] - fft_freqs[None, :]
        lower = -ramps[:-2] / widths[:-1, None]
        upper = ramps[2:] / widths[1:, None]
        return torch.clamp(torch.minimum(lower, upper), min=0.0).to(torch.float32)

    tiny = models.load("tiny:random")
    assert torch.equal(tiny.frontend.mel_fb, before(16_000, 512, 64))
    for args in ((16_000, 512, 64, 0.0, 8000.0), (48_000, 1024, 64, 50.0, 14_000.0)):
        assert torch.equal(frontend.mel_filterbank(*args), before(*args))
