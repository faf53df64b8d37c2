"""Figures of audio clips: the spectrogram."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from humanclap.plots.style import FIG_WIDTH

#: The colour scale spans this many dB below the loudest bin (quieter bins share its bottom).
TOP_DB = 80.0


def spectrogram(audio: np.ndarray, sample_rate: int, title: str = "") -> plt.Figure:
    """Spectrogram of one clip (512-point FFT, 75% overlap, dB colour scale over the top
    :data:`TOP_DB` dB, with a colour bar).

    Parameters
    ----------
    audio : np.ndarray, shape (T,)
        Mono waveform.
    sample_rate : int
        Its rate in Hz.
    title : str
        The figure's title.

    Returns
    -------
    Figure
        Time on the x axis, frequency on the y axis, power spectral density in dB as colour,
        with a labelled colour bar.
    """
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 2.6), layout="constrained")
    *_, image = ax.specgram(audio, Fs=sample_rate, NFFT=512, noverlap=384, cmap="magma")
    loudest = float(np.nanmax(image.get_array()))
    image.set_clim(loudest - TOP_DB, loudest)
    fig.colorbar(image, ax=ax, label="power (dB)", pad=0.01)
    if title:
        ax.set_title(title)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.grid(False)
    return fig
