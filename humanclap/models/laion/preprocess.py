"""LAION-CLAP's audio preprocessing, on tensors and deterministic, without torchaudio.

Reproduces ``CLAP_Module.get_audio_embedding_from_data`` / ``_from_filelist``'s preparation of
one clip: int16 quantisation (:func:`quantize_int16`), "repeatpad" of short clips
(:func:`repeatpad`) to 480,000 samples (10 s at 48 kHz), and for fusion models laion's mel
spectrogram in dB (:func:`laion_mel`, laion's ``get_mel`` written with ``torch.stft`` and
the tiny CLAP's HTK filter bank instead of torchaudio) and the 4-channel ``mel_fusion`` input
(:func:`audio_features`).

Where laion draws random numbers, fixed choices are made. A clip longer than 10 s is cropped to
its first 10 s (laion: a random window). For fusion models, a clip longer than 10 s + one hop
keeps laion's channel 0 (the whole mel spectrogram shrunk to 1001 frames by torchvision's
antialiased bilinear ``Resize``) and takes channels 1-3 at :func:`fusion_starts`: the middle of
each third of the possible start frames (laion: a uniform random frame in each third).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from humanclap.models.frontend import mel_filterbank

__all__ = [
    "CLIP_SAMPLES",
    "DB_FLOOR",
    "SAMPLE_RATE",
    "audio_features",
    "fusion_starts",
    "laion_mel",
    "mel_basis",
    "power_to_db",
    "quantize_int16",
    "repeatpad",
]

SAMPLE_RATE = 48_000
CLIP_SAMPLES = 480_000
#: ``AmplitudeToDB``'s ``amin``: mel power below it reads as -100 dB.
DB_FLOOR = 1e-10


def quantize_int16(wave: Tensor) -> Tensor:
    """laion's ``int16_to_float32(float32_to_int16(x))``, bit for bit, on tensors.

    ``clip(x, -1, 1) * 32767`` in float32, truncated to int16, divided by 32767 in float64 and
    rounded to float32 (as numpy does). When ``wave`` requires grad, the gradient passes
    straight through (the value then may differ from the exact one by a float32 rounding).

    Parameters
    ----------
    wave : Tensor, float32, any shape

    Returns
    -------
    Tensor, float32, same shape
    """
    scaled = torch.clamp(wave.detach().float(), -1.0, 1.0) * 32767.0
    quantized = (scaled.to(torch.int16).to(torch.float64) / 32767.0).to(torch.float32)
    if wave.requires_grad:
        return wave + (quantized - wave).detach()
    return quantized


def repeatpad(wave: Tensor, num_samples: int = CLIP_SAMPLES) -> Tensor:
    """laion's "repeatpad": repeat a short clip ``floor(num_samples / T)`` times, zero-pad the rest.

    A clip longer than ``num_samples`` is cropped to its first ``num_samples`` samples (laion
    crops at random).

    Parameters
    ----------
    wave : Tensor, shape (T,), T >= 1
    num_samples : int

    Returns
    -------
    Tensor, shape (num_samples,)
    """
    length = int(wave.shape[0])
    if length == 0:
        raise ValueError("wave: empty clip (0 samples)")
    if length >= num_samples:
        return wave[:num_samples]
    wave = wave.repeat(num_samples // length)
    return F.pad(wave, (0, num_samples - wave.shape[0]), mode="constant", value=0.0)


@lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> Tensor:
    """torchaudio's ``melscale_fbanks(..., norm=None, mel_scale="htk")``, shape (n_freqs, n_mels)."""
    fb = mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max, compute_dtype=torch.float32)
    return fb.T.contiguous()


def mel_basis(audio_cfg: dict[str, Any]) -> Tensor:
    """laion's fusion mel filter bank for ``audio_cfg`` (cached; do not modify it in place).

    HTK mel scale, triangles that peak at 1, no area normalisation, between ``fmin`` and
    ``fmax``: :func:`humanclap.models.frontend.mel_filterbank` (the tiny CLAP's filter bank)
    computed in float32 arithmetic, which is torchaudio's ``melscale_fbanks(window_size // 2 + 1,
    fmin, fmax, mel_bins, sample_rate, norm=None, mel_scale="htk")`` bit for bit.

    Parameters
    ----------
    audio_cfg : dict
        laion's ``audio_cfg`` (``sample_rate``, ``window_size``, ``mel_bins``, ``fmin``, ``fmax``).

    Returns
    -------
    Tensor, shape (window_size // 2 + 1, mel_bins), float32, on the CPU
        torchaudio's layout (``MelScale.fb``).
    """
    cfg = audio_cfg
    return _mel_basis(
        int(cfg["sample_rate"]),
        int(cfg["window_size"]),
        int(cfg["mel_bins"]),
        float(cfg["fmin"]),
        float(cfg["fmax"]),
    )


def power_to_db(power: Tensor) -> Tensor:
    """torchaudio's ``AmplitudeToDB(stype="power", top_db=None)``: ``10 log10(max(x, 1e-10))``.

    (``ref=1``, so its ``db_multiplier`` term is 0.)

    Parameters
    ----------
    power : Tensor, any shape, float

    Returns
    -------
    Tensor, same shape
    """
    return 10.0 * torch.log10(torch.clamp(power, min=DB_FLOOR))


def laion_mel(wave: Tensor, audio_cfg: dict[str, Any]) -> Tensor:
    """laion's ``get_mel`` (``training/data.py``) in plain torch: mel power spectrogram in dB.

    What laion computes with ``torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=
    win_length=window_size, hop_length=hop_size, center=True, pad_mode="reflect", power=2.0,
    norm=None, onesided=True, n_mels=mel_bins, f_min=fmin, f_max=fmax)`` (a periodic Hann window,
    HTK mel scale) and ``AmplitudeToDB(top_db=None)``, transposed: the same ``torch.stft``,
    ``|X|^2`` (``abs().pow(2)``, as torchaudio), :func:`mel_basis` (torchaudio's filter bank bit
    for bit), :func:`power_to_db`. The mel product is torchaudio's ``(frames, freqs) @ (freqs,
    mels)``, left as (frames, mels) where torchaudio transposes it and laion transposes it back.

    Parameters
    ----------
    wave : Tensor, shape (T,), float32 (laion) or float64, T > window_size // 2
    audio_cfg : dict
        laion's ``audio_cfg`` (``sample_rate``, ``window_size``, ``hop_size``, ``mel_bins``,
        ``fmin``, ``fmax``).

    Returns
    -------
    Tensor, shape (1 + T // hop_size, mel_bins), dtype and device of ``wave``
    """
    if wave.ndim != 1:
        raise ValueError(f"wave: expected shape (T,), got {tuple(wave.shape)}")
    n_fft = int(audio_cfg["window_size"])
    spec = torch.stft(
        wave,
        n_fft=n_fft,
        hop_length=int(audio_cfg["hop_size"]),
        win_length=n_fft,
        window=torch.hann_window(n_fft, dtype=wave.dtype, device=wave.device),
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    power = spec.abs().pow(2.0)  # (n_freqs, frames)
    basis = mel_basis(audio_cfg).to(device=wave.device, dtype=wave.dtype)
    return power_to_db(torch.matmul(power.transpose(0, 1), basis))


def fusion_starts(total_frames: int, chunk_frames: int) -> list[int]:
    """The 3 start frames of the fusion chunks: the middle of each third of the possible starts.

    laion splits the start frames ``0 .. total_frames - chunk_frames`` into 3 runs with
    ``np.array_split`` and draws one frame of each at random (an empty run gives 0); here each
    run gives its middle element, ``run[len(run) // 2]``.

    Parameters
    ----------
    total_frames : int
        Frames of the whole clip's mel spectrogram.
    chunk_frames : int
        Frames of one chunk (``480000 // hop_size + 1``), at most ``total_frames``.

    Returns
    -------
    list of 3 int
    """
    ranges = np.array_split(np.arange(total_frames - chunk_frames + 1), 3)
    return [int(r[len(r) // 2]) if len(r) else 0 for r in ranges]


def _fusion_features(wave: Tensor, audio_cfg: dict[str, Any]) -> dict[str, Tensor]:
    """laion's fusion branch of ``get_audio_features`` with fixed chunk positions (module doc)."""
    cfg = audio_cfg
    if wave.shape[0] <= CLIP_SAMPLES:
        wave = repeatpad(wave)
        mel = laion_mel(wave, cfg)
        return {
            "waveform": wave,
            "longer": torch.tensor([False]),
            "mel_fusion": torch.stack([mel, mel, mel, mel], dim=0),
        }
    with torch.no_grad():
        mel = laion_mel(wave, cfg)
    chunk_frames = CLIP_SAMPLES // cfg["hop_size"] + 1
    total_frames = mel.shape[0]
    if chunk_frames == total_frames:
        mel_fusion = torch.stack([mel, mel, mel, mel], dim=0)
        longer = False
    else:
        chunks = [mel[s : s + chunk_frames, :] for s in fusion_starts(total_frames, chunk_frames)]
        import torchvision  # lazy: slow to import; only fusion models need it (laion's Resize)

        shrink = torchvision.transforms.Resize(size=[chunk_frames, cfg["mel_bins"]])
        mel_fusion = torch.stack([shrink(mel[None])[0], *chunks], dim=0)
        longer = True
    return {
        "waveform": wave[:CLIP_SAMPLES],
        "longer": torch.tensor([longer]),
        "mel_fusion": mel_fusion,
    }


def audio_features(wave: Tensor, audio_cfg: dict[str, Any], fusion: bool) -> dict[str, Tensor]:
    """One clip at 48 kHz -> laion's input dict (``waveform``, ``longer``[, ``mel_fusion``]).

    Mirrors laion's ``get_audio_features(..., 480000, data_truncating='rand_trunc' or
    'fusion', data_filling='repeatpad')`` after int16 quantisation, except that long clips
    are cropped deterministically (module doc).

    Parameters
    ----------
    wave : Tensor, shape (T,), float32, T >= 1
        On the device the model runs on.
    audio_cfg : dict
        laion's ``audio_cfg`` of the model.
    fusion : bool
        Whether the model is a fusion model.

    Returns
    -------
    dict
        ``waveform``: Tensor (480000,); ``longer``: bool Tensor (1,), True only for a fusion
        model's clip longer than 10 s + one hop; for fusion models ``mel_fusion``: Tensor
        (4, 480000 // hop_size + 1, mel_bins) in dB, (4, 1001, 64) for laion's models.
    """
    wave = quantize_int16(wave)
    if not fusion:
        return {"waveform": repeatpad(wave), "longer": torch.tensor([False])}
    return _fusion_features(wave, audio_cfg)
