"""RELATE's audio: finding it in folders and zips, checking it against the ratings, the CLI."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from humanclap.cli import main
from humanclap.data import resolve_dataset
from humanclap.data.relate_audio import (
    check_relate_audio,
    find_audio_root,
    rated_wavnames,
    zip_audio_prefix,
)

#: The wavnames the fake RELATE rates (REL, IS and OS together).
RATED = ["/audiocaps/train/11.wav", "/audiocaps/train/22.wav", "/tango/train/11.wav"]


def _wav(rate: int = 16_000, channels: int = 1, seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    wave = 0.1 * np.sin(np.linspace(0, 200, int(rate * seconds), dtype=np.float32))
    data = np.stack([wave] * channels, axis=1) if channels > 1 else wave
    sf.write(buffer, data, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _write_audio(root: Path, names: list[str], overrides: dict[str, bytes] | None = None) -> None:
    for name in names:
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((overrides or {}).get(name, _wav()))


@pytest.fixture
def relate(tmp_path: Path, fake_relate) -> Path:
    fake_relate(tmp_path / "RELATE")
    return tmp_path / "RELATE"


def test_rated_wavnames_cover_every_aspect(relate: Path) -> None:
    table = rated_wavnames(relate)
    assert table["wavname"].tolist() == RATED
    assert table.set_index("wavname").loc["/audiocaps/train/11.wav", "aspects"] == "IS,OS,REL"
    assert table["source"].tolist() == ["audiocaps", "audiocaps", "tango"]
    assert set(table["folder"]) == {"train"}


@pytest.mark.parametrize("top", ["", "RELATE_wave", "download/wav"])
def test_find_audio_root_in_any_plausible_layout(tmp_path: Path, top: str) -> None:
    root = tmp_path / "unpacked" / top
    _write_audio(root, RATED)
    assert find_audio_root(tmp_path / "unpacked") == root
    assert find_audio_root(tmp_path / "unpacked" / "nothing-here") is None


def test_zip_prefix() -> None:
    assert zip_audio_prefix(["RELATE_wave/", "RELATE_wave/tango/train/11.wav"]) == "RELATE_wave/"
    assert zip_audio_prefix(["audiocaps/test/1.wav", "audiocaps/test/2.wav"]) == ""
    assert zip_audio_prefix(["a/wav/tango2/test/9.wav"]) == "a/wav/"
    assert zip_audio_prefix(["readme.txt", "other/x.wav"]) is None


def test_complete_folder_passes(relate: Path, tmp_path: Path) -> None:
    _write_audio(tmp_path / "audio" / "RELATE_wave", RATED)
    check = check_relate_audio(tmp_path / "audio", relate, num_workers=2)
    assert check.ok and not check.missing and not check.bad
    assert check.counts()["usable"].sum() == 3


def test_missing_and_bad_files_are_named_and_counted(relate: Path, tmp_path: Path) -> None:
    broken = {
        "/audiocaps/train/22.wav": _wav(rate=44_100),
        "/tango/train/11.wav": b"RIFF not really a wav",
    }
    _write_audio(tmp_path / "audio", RATED[1:], broken)
    check = check_relate_audio(tmp_path / "audio", relate)
    assert not check.ok
    assert check.missing == ["/audiocaps/train/11.wav"]
    assert "44100 Hz" in check.bad["/audiocaps/train/22.wav"]
    assert "cannot decode" in check.bad["/tango/train/11.wav"]
    counts = check.counts()
    assert counts.loc[("audiocaps", "train"), "missing"] == 1
    assert counts.loc[("tango", "train"), "bad"] == 1
    report = check.report()
    assert "0 of 3 rated clips usable" in report and "/audiocaps/train/11.wav" in report


def test_stereo_is_bad(relate: Path, tmp_path: Path) -> None:
    _write_audio(tmp_path / "audio", RATED, {"/tango/train/11.wav": _wav(channels=2)})
    check = check_relate_audio(tmp_path / "audio", relate)
    assert list(check.bad) == ["/tango/train/11.wav"] and "2 channel" in check.bad[RATED[2]]


@pytest.mark.parametrize("top", ["", "RELATE_wave/"])
def test_zip(relate: Path, tmp_path: Path, top: str) -> None:
    archive = tmp_path / "RELATE_wave.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in RATED[:2]:
            zf.writestr(top + name.lstrip("/"), _wav())
    check = check_relate_audio(archive, relate)
    assert check.missing == ["/tango/train/11.wav"] and not check.bad


def test_dataset_relate_finds_audio_below_a_top_folder(relate: Path, tmp_path: Path) -> None:
    _write_audio(tmp_path / "audio" / "RELATE_wave", RATED)
    data = resolve_dataset("relate", relate_dir=relate, audio_dir=tmp_path / "audio")
    assert data.audio_dir == tmp_path / "audio" / "RELATE_wave"
    with pytest.raises(FileNotFoundError, match="relate-audio"):
        resolve_dataset("relate", relate_dir=relate, audio_dir=tmp_path / "nothing")


def test_cli(relate: Path, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["relate-audio", str(empty), "--relate-dir", str(relate)]) == 1
    out = capsys.readouterr()
    assert "3 missing" in out.out and all(name in out.out for name in RATED)
    assert "HUMANCLAP_RELATE_AUDIO" in out.err
    _write_audio(tmp_path / "audio", RATED)
    assert main(["relate-audio", str(tmp_path / "audio"), "--relate-dir", str(relate)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["relate-audio", str(tmp_path / "nowhere"), "--relate-dir", str(relate)]) == 2
