"""resolve_dataset: which data a chapter runs on (RELATE, the embedded world, or a folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from humanclap.data import RelateDataError, resolve_dataset
from humanclap.data import synthetic as S

SMALL_WORLD = {"n_captions": 12, "clip_seconds": 1.0}


@pytest.fixture()
def no_relate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUMANCLAP_RELATE_DIR", raising=False)
    monkeypatch.delenv("HUMANCLAP_RELATE_AUDIO", raising=False)


def test_auto_uses_relate_ratings_when_no_audio_is_needed(relate_dir: Path, no_relate_env) -> None:
    ds = resolve_dataset("auto", relate_dir=relate_dir, needs_audio=False)
    assert ds.kind == "relate" and not ds.is_simulated
    assert ds.root == relate_dir and ds.audio_dir is None
    assert "RELATE" in ds.label and "NOT RELATE" not in ds.label
    with pytest.raises(FileNotFoundError, match="HUMANCLAP_RELATE_AUDIO"):
        ds.audio_path("/audiocaps/train/8215.wav")


def test_auto_falls_back_to_the_world_without_relate_audio(relate_dir: Path, no_relate_env) -> None:
    ds = resolve_dataset("auto", relate_dir=relate_dir, world_params=SMALL_WORLD)
    assert ds.kind == "synthetic" and ds.is_simulated
    assert "NOT RELATE" in ds.label and "audio is not on this machine" in ds.label
    assert ds.world["params"]["n_captions"] == 12
    pairs = ds.pairs()
    assert len(pairs) == 36
    assert all(Path(p).is_file() for p in pairs["audio"])


def test_relate_without_audio_says_where_to_put_it(relate_dir: Path, no_relate_env) -> None:
    with pytest.raises(FileNotFoundError, match="HUMANCLAP_RELATE_AUDIO"):
        resolve_dataset("relate", relate_dir=relate_dir)


def test_relate_audio_from_the_environment(
    relate_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_relate_env
) -> None:
    audio = tmp_path / "RELATE_wave"
    (audio / "audiocaps" / "train").mkdir(parents=True)
    monkeypatch.setenv("HUMANCLAP_RELATE_AUDIO", str(audio))
    ds = resolve_dataset("auto", relate_dir=relate_dir)
    assert ds.kind == "relate" and ds.audio_dir == audio
    assert ds.audio_path("/audiocaps/train/8215.wav") == audio / "audiocaps/train/8215.wav"
    pairs = ds.pairs(ratings=ds.load_ratings(categories=False).head(50))
    assert pairs["audio"].str.startswith(str(audio)).all()


def test_an_audio_dir_without_audio_is_an_error(
    relate_dir: Path, tmp_path: Path, no_relate_env
) -> None:
    with pytest.raises(FileNotFoundError, match="audio_dir"):
        resolve_dataset("auto", relate_dir=relate_dir, audio_dir=tmp_path)


def test_auto_offline_without_ratings_uses_the_world(no_relate_env) -> None:
    ds = resolve_dataset("auto", needs_audio=False, world_params=SMALL_WORLD)
    assert ds.kind == "synthetic"
    assert "ratings are not available" in ds.label
    with pytest.raises(RelateDataError):
        resolve_dataset("relate", needs_audio=False)


def test_a_folder_in_relate_layout(tmp_path: Path, no_relate_env) -> None:
    world = S.generate(tmp_path / "w", seed=2, **SMALL_WORLD)
    ds = resolve_dataset(world)
    assert ds.kind == "synthetic" and ds.root == world and ds.world["seed"] == 2
    own = tmp_path / "own"
    shutil.copytree(world, own)
    (own / "world.json").unlink()
    ds = resolve_dataset(str(own))
    assert ds.kind == "folder" and ds.audio_dir == own
    ratings = ds.load_ratings(categories=False)
    assert len(ratings) > 0
    assert "not RELATE's own files" in ds.label


def test_bad_dataset_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected one of"):
        resolve_dataset("relat")
    with pytest.raises(ValueError, match="scores/REL.csv"):
        resolve_dataset(tmp_path)


def test_default_model_follows_the_world(relate_dir: Path, no_relate_env) -> None:
    assert resolve_dataset("auto", relate_dir=relate_dir, needs_audio=False).default_model == (
        "laion:630k-audioset-best"
    )
    assert resolve_dataset("synthetic", world_params=SMALL_WORLD).default_model == "tiny"


def test_model_spec_follows_the_world(relate_dir: Path, no_relate_env) -> None:
    """What to pass to humanclap.models.load; datasets never load a model themselves."""
    relate = resolve_dataset("auto", relate_dir=relate_dir, needs_audio=False)
    assert relate.model_spec() == ("laion:630k-audioset-best", {})
    assert relate.model_spec("tiny") == ("tiny", {})
    assert relate.model_spec("hf:some/repo") == ("hf:some/repo", {})
    world = resolve_dataset("synthetic", world_params=SMALL_WORLD)
    assert world.model_spec() == ("tiny", {"world": world.root})
    assert world.model_spec("tiny") == ("tiny", {"world": world.root})
    assert world.model_spec("laion:630k-audioset-best") == ("laion:630k-audioset-best", {})
    assert not hasattr(world, "load_model")


def test_the_world_never_names_a_real_system(relate_dir: Path, no_relate_env) -> None:
    """The world's four text-to-audio sources are shown as sim-*, in its ratings, pairs and
    truth; its files keep RELATE's folders; RELATE's own ratings keep their names."""
    world = resolve_dataset("synthetic", world_params=SMALL_WORLD)
    real_names = {"audioldm", "audioldm2", "tango", "tango2"}
    for table in (world.load_ratings(), world.pairs(), S.load_truth(world.root)):
        sources = set(table["source"])
        assert not sources & real_names
        assert sources <= {"audiocaps", *(f"sim-{s}" for s in real_names)}
    wavnames = world.pairs()["wavname"]
    assert wavnames.str.contains("/tango2?/|/audioldm2?/").any()  # the folders stay
    ratings = resolve_dataset("relate", relate_dir=relate_dir, needs_audio=False).load_ratings()
    assert set(ratings["source"]) == {"audiocaps", *real_names}
