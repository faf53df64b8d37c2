"""Figures of audio clips: the spectrogram."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def spectrogram(audio: np.ndarray, sample_rate: int, title: str = "") -> plt.Figure:
    """Spectrogram of one clip (512-point FFT, 75% overlap, dB colour scale).

    Parameters
    ----------
    audio : np.ndarray, shape (T,)
        Mono waveform.
    sample_rate : int
        Its rate in Hz.
    """
    fig, ax = plt.subplots(figsize=(8, 2.2))
    ax.specgram(audio, Fs=sample_rate, NFFT=512, noverlap=384, cmap="magma")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("Hz")
    ax.grid(False)
    return fig
