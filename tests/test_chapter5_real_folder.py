"""Chapter 5 on a real-format folder of clips: WAV, FLAC, OGG, a broken file, tied scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from humanclap import models
from humanclap.book import runner as nbrun
from humanclap.data.synthetic import describe_failures
from humanclap.score import read_pairs_csv

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "05_score_your_audio.ipynb"
RATE = 22050


def _tone(freq: float, seconds: float = 1.0, stereo: bool = False) -> np.ndarray:
    """A sine with a little noise, shape (samples,) or (samples, 2)."""
    t = np.arange(int(RATE * seconds)) / RATE
    rng = np.random.default_rng(int(freq))
    wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.size)
    return np.stack([wave, wave[::-1]], axis=1) if stereo else wave


def _folder(root: Path) -> tuple[Path, Path]:
    """Clips in three formats, two identical clips with one prompt, and a file that is not audio;
    a prompts CSV with the columns ``caption`` and ``path``."""
    clips = root / "clips"
    (clips / "sub").mkdir(parents=True)
    sf.write(clips / "dog.wav", _tone(440.0), RATE)
    sf.write(clips / "rain.flac", _tone(880.0, stereo=True), RATE, format="FLAC")
    sf.write(clips / "sub" / "bell.ogg", _tone(660.0, 1.5), RATE, format="OGG", subtype="VORBIS")
    sf.write(clips / "twin_a.wav", _tone(330.0), RATE)
    (clips / "twin_b.wav").write_bytes((clips / "twin_a.wav").read_bytes())
    (clips / "broken.wav").write_bytes(b"RIFF not really a wave file" * 10)
    prompts = pd.DataFrame(
        {
            "caption": [
                "a dog barks",
                "rain falls on a roof",
                "a bell rings twice",
                "a low hum",
                "a low hum",
                "a car passes by",
            ],
            "path": [
                "dog.wav",
                "rain.flac",
                "sub/bell.ogg",
                "twin_a.wav",
                "twin_b.wav",
                "broken.wav",
            ],
        }
    )
    prompts_csv = root / "my_prompts.csv"
    prompts.to_csv(prompts_csv, index=False)
    return clips, prompts_csv


def test_a_missing_prompt_column_names_the_file_column_and_parameter(tmp_path: Path) -> None:
    _, prompts_csv = _folder(tmp_path)
    with pytest.raises(ValueError) as err:
        read_pairs_csv(prompts_csv, require={"text": "text_col", "path": "audio_col"})
    message = str(err.value)
    assert str(prompts_csv) in message and "'text' (set text_col)" in message
    assert "audio_col" not in message and "caption, path" in message


def test_planted_failures_read_as_words() -> None:
    assert describe_failures("count:thunder;swap;sub:dog_bark>cat_meow") == (
        "wrong number of thunder; events in the wrong order; dog bark replaced by cat meow"
    )
    assert describe_failures("none") == "none"
    with pytest.raises(ValueError, match="'loud:dog'"):
        describe_failures("swap;loud:dog")


@pytest.mark.notebook
@pytest.mark.slow
def test_chapter_5_scores_a_real_folder(tmp_path: Path) -> None:
    clips, prompts_csv = _folder(tmp_path)
    human = models.load("tiny:random").save(tmp_path / "human-clap.pt")
    out = nbrun.run_notebook(
        NOTEBOOK,
        tmp_path / "ch5.ipynb",
        {
            "clips_dir": str(clips),
            "prompts_csv": str(prompts_csv),
            "text_col": "caption",
            "audio_col": "path",
            "model": "tiny:random",
            "human_clap": str(human),
            "world_size": 40,
        },
        cwd=tmp_path,
    )
    assert "5 of 6 clips scored; 1 could not be read" in out.read_text()
    results = pd.read_csv(tmp_path / "scores.csv", keep_default_na=False, na_values=[""])
    assert list(results["path"]) == list(pd.read_csv(prompts_csv)["path"])  # one row per prompt
    broken = results.set_index("path").loc["broken.wav"]
    assert "broken.wav" in broken["error"]
    assert np.isnan(broken["CLAPScore"]) and np.isnan(broken["Human-CLAPScore"])
    good = results[results["path"] != "broken.wav"].set_index("path")
    assert (good["error"].fillna("") == "").all()
    for rank, col in [("rank (CLAP)", "CLAPScore"), ("rank (Human-CLAP)", "Human-CLAPScore")]:
        ranks = good[rank]
        assert (ranks == ranks.round()).all()  # integers
        assert ranks["twin_a.wav"] == ranks["twin_b.wav"]  # tied scores share the best rank
        assert ranks.tolist() == good[col].rank(ascending=False, method="min").tolist()
    assert good.loc["twin_a.wav", "CLAPScore"] == good.loc["twin_b.wav", "CLAPScore"]
