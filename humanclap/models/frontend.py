"""Log-mel spectrogram in plain torch (``torch.stft`` and a mel filterbank computed here).

No torchaudio / librosa at run time. The filterbank follows the HTK mel scale
``mel(f) = 2595 log10(1 + f / 700)`` with triangular filters that peak at 1 and are not
area-normalised, i.e. ``librosa.filters.mel(..., htk=True, norm=None)`` (the tests compare it
with a bin-by-bin reference; it matched librosa 0.11 to 1e-6 when written) and torchaudio's
``melscale_fbanks(..., norm=None, mel_scale="htk")``, which LAION-CLAP's fusion front end uses
(:func:`mel_filterbank` with ``compute_dtype=torch.float32`` gives torchaudio's bit for bit).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["LogMel", "hz_to_mel", "mel_filterbank", "mel_to_hz"]


def hz_to_mel(freq: Tensor | float) -> Tensor:
    """HTK mel scale: ``2595 * log10(1 + f / 700)``."""
    freq = torch.as_tensor(freq, dtype=torch.float64)
    return 2595.0 * torch.log10(1.0 + freq / 700.0)


def mel_to_hz(mel: Tensor | float, dtype: torch.dtype = torch.float64) -> Tensor:
    """Inverse of :func:`hz_to_mel`, computed in ``dtype``."""
    mel = torch.as_tensor(mel, dtype=dtype)
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    *,
    compute_dtype: torch.dtype = torch.float64,
) -> Tensor:
    """Triangular mel filterbank.

    Parameters
    ----------
    sample_rate : int
        Sampling rate in Hz.
    n_fft : int
        FFT size; the filterbank acts on ``n_fft // 2 + 1`` frequency bins.
    n_mels : int
        Number of mel bands.
    f_min, f_max : float
        Lowest and highest edge in Hz (``f_max`` defaults to ``sample_rate / 2``).
    compute_dtype : torch.dtype
        Precision of the arithmetic after the two edges ``mel(f_min)``, ``mel(f_max)`` (always
        float64). ``torch.float64`` (the tiny CLAP's); ``torch.float32`` reproduces torchaudio's
        ``melscale_fbanks(n_fft // 2 + 1, f_min, f_max, n_mels, sample_rate, norm=None,
        mel_scale="htk")`` bit for bit for even sample rates (LAION-CLAP's fusion front end).
        The two differ by < 1e-5.

    Returns
    -------
    Tensor, shape (n_mels, n_fft // 2 + 1), float32
        Row ``m`` is the triangle with corners at mel points ``m, m + 1, m + 2`` of
        ``n_mels + 2`` equally spaced points between ``mel(f_min)`` and ``mel(f_max)``.
    """
    f_max = sample_rate / 2.0 if f_max is None else float(f_max)
    if not 0.0 <= f_min < f_max <= sample_rate / 2.0:
        raise ValueError(
            f"f_min/f_max: need 0 <= f_min < f_max <= sample_rate/2 "
            f"({sample_rate / 2}), got f_min={f_min}, f_max={f_max}"
        )
    if n_mels < 1 or n_fft < 2:
        raise ValueError(f"n_mels/n_fft: need n_mels >= 1 and n_fft >= 2, got {n_mels}, {n_fft}")
    dtype = compute_dtype
    fft_freqs = torch.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1, dtype=dtype)
    mel_points = torch.linspace(
        hz_to_mel(f_min).item(), hz_to_mel(f_max).item(), n_mels + 2, dtype=dtype
    )
    hz_points = mel_to_hz(mel_points, dtype)
    widths = hz_points[1:] - hz_points[:-1]  # (n_mels + 1,)
    ramps = hz_points[:, None] - fft_freqs[None, :]  # (n_mels + 2, n_freqs)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    return torch.clamp(torch.minimum(lower, upper), min=0.0).to(torch.float32)


class LogMel(nn.Module):
    """Waveform -> natural-log mel power spectrogram.

    ``log(mel_fb @ |STFT(x)|^2 + eps)`` with a periodic Hann window of length ``n_fft``, frames
    centred on ``t * hop_length`` (zero padding of ``n_fft // 2`` at both ends), so a clip of
    ``T`` samples gives ``1 + T // hop_length`` frames. No parameters (the window and filterbank
    are non-persistent buffers and do not appear in the ``state_dict``).

    Parameters
    ----------
    sample_rate, n_fft, hop_length, n_mels, f_min, f_max : see :func:`mel_filterbank`.
    eps : float
        Floor added before the log (``log(eps)`` is the value of digital silence).
    """

    def __init__(
        self,
        sample_rate: int = 16_000,
        n_fft: int = 512,
        hop_length: int = 320,
        n_mels: int = 64,
        f_min: float = 0.0,
        f_max: float | None = None,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.sample_rate = int(sample_rate)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.n_mels = int(n_mels)
        self.eps = float(eps)
        self.register_buffer(
            "window", torch.hann_window(self.n_fft, periodic=True), persistent=False
        )
        self.register_buffer(
            "mel_fb", mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max), persistent=False
        )

    def forward(self, audio: Tensor) -> Tensor:
        """
        Parameters
        ----------
        audio : Tensor, shape (B, T), float
            Waveforms in [-1, 1] at ``sample_rate``.

        Returns
        -------
        Tensor, shape (B, n_mels, 1 + T // hop_length)
        """
        if audio.ndim != 2:
            raise ValueError(f"audio: expected shape (B, T), got {tuple(audio.shape)}")
        spec = torch.stft(
            audio.float(),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()  # (B, n_freqs, frames)
        mel = torch.matmul(self.mel_fb, power)  # (B, n_mels, frames)
        return torch.log(mel + self.eps)

    def extra_repr(self) -> str:
        return (
            f"sample_rate={self.sample_rate}, n_fft={self.n_fft}, "
            f"hop_length={self.hop_length}, n_mels={self.n_mels}"
        )
