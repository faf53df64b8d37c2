"""Tests of :mod:`humanclap.score` and the ``humanclap score`` command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

import humanclap.models
from humanclap.audio import load_audio
from humanclap.cli import main
from humanclap.cli.score import EXIT_INTERRUPTED, EXIT_ROWS_FAILED
from humanclap.score import clapscore, score_pairs
from humanclap.similarity import cosine_rows

SR = 16000
CAPTIONS = ["a dog barks", "rain falls on a roof", "a car passes by", "birds sing"]
#: The score column of "tiny:random" (named after the model, humanclap.score.score_column).
COL = "clapscore_tiny_random"


@pytest.fixture
def model():
    return humanclap.models.load("tiny:random")


@pytest.fixture
def audio_dir(tmp_path):
    """RELATE-like layout: <dir>/<source>/<split>/<id>.wav, seven clips."""
    root = tmp_path / "audio"
    rng = np.random.default_rng(0)
    for i in range(7):
        path = root / ("audiocaps" if i % 2 else "tango") / "test" / f"{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        rate = (16000, 22050, 44100)[i % 3]
        sf.write(path, (0.2 * rng.standard_normal(int(0.4 * rate))).astype(np.float32), rate)
    return root


@pytest.fixture
def pairs(audio_dir):
    """14 rows: every clip with two captions (captions repeat, as in RELATE)."""
    rows = []
    for i, wav in enumerate(sorted(audio_dir.rglob("*.wav"))):
        rel = "/" + wav.relative_to(audio_dir).as_posix()  # RELATE's wavname style
        for j in range(2):
            rows.append({"wavname": rel, "caption": CAPTIONS[(i + j) % 4], "score": i + j})
    return pd.DataFrame(rows)


def _direct(model, texts, waves) -> np.ndarray:
    with torch.no_grad():
        a = model.embed_audio([torch.from_numpy(w) for w in waves]).double()
        t = model.embed_text(list(texts)).double()
    return (a * t).sum(-1).numpy()


def test_clapscore_equals_direct_computation(model, audio_dir, tmp_path):
    paths = sorted(audio_dir.rglob("*.wav"))[:4]
    texts = CAPTIONS
    scores = clapscore(model, texts, paths, batch_size=3, cache_dir=tmp_path / "cache")
    ref = _direct(model, texts, [load_audio(p, SR) for p in paths])
    assert scores.shape == (4,)
    np.testing.assert_allclose(scores, ref, atol=1e-5)
    assert np.all(np.abs(scores) <= 1 + 1e-9)
    # arrays work too, and cached embeddings give the same scores
    waves = [load_audio(p, SR) for p in paths]
    again, info = clapscore(model, texts, waves, cache_dir=tmp_path / "cache", return_info=True)
    np.testing.assert_allclose(again, ref, atol=1e-5)
    assert info.text.n_cached == 4 and info.audio.n_embedded == 4


def test_clapscore_checks_lengths(model, audio_dir):
    with pytest.raises(ValueError, match="got 2 texts and 3 audio items"):
        clapscore(model, ["a", "b"], sorted(audio_dir.rglob("*.wav"))[:3], cache_dir=None)


def test_clapscore_bad_file(model, audio_dir, tmp_path):
    from humanclap.embed import EmbedError

    paths = [*sorted(audio_dir.rglob("*.wav"))[:2], tmp_path / "gone.wav"]
    with pytest.raises(EmbedError, match="gone.wav: no such audio file"):
        clapscore(model, CAPTIONS[:3], paths, cache_dir=None)
    scores = clapscore(model, CAPTIONS[:3], paths, cache_dir=None, errors="nan")
    assert np.isfinite(scores[:2]).all() and np.isnan(scores[2])


def test_cosine_rows():
    a = np.array([[3.0, 4.0], [1.0, 0.0], [np.nan, 1.0]])
    b = np.array([[6.0, 8.0], [0.0, 2.0], [1.0, 1.0]])
    np.testing.assert_allclose(cosine_rows(a, b)[:2], [1.0, 0.0])
    assert np.isnan(cosine_rows(a, b)[2])
    with pytest.raises(ValueError, match=r"\(2, 2\) and \(3, 2\)"):
        cosine_rows(a[:2], b)


def test_score_pairs_table(model, pairs, audio_dir, tmp_path):
    pairs = pairs.copy()
    pairs.index = pairs.index + 100  # the index is kept
    silent = audio_dir / "silent.wav"
    sf.write(silent, np.zeros(SR, np.float32), SR)
    (audio_dir / "broken.wav").write_bytes(b"garbage")
    extra = pd.DataFrame(
        {
            "wavname": ["silent.wav", "broken.wav", None, "/tango/test/0.wav"],
            "caption": ["quiet", "noise", "no audio", None],
            "score": [0, 0, 0, 0],
        },
        index=[200, 201, 202, 203],
    )
    table = pd.concat([pairs, extra])
    out = score_pairs(
        model,
        table,
        text_col="caption",
        audio_col="wavname",
        audio_dir=audio_dir,
        cache_dir=tmp_path / "cache",
        source="my.csv",
    )
    assert list(out.columns) == ["wavname", "caption", "score", COL, "model",
                                 "model_fingerprint", "error", "warning"]  # fmt: skip
    assert (out["model"] == "tiny:random").all()
    assert (out["model_fingerprint"] == model.fingerprint).all()
    assert list(out.index) == list(table.index)
    good = out.iloc[: len(pairs)]
    assert (good["error"] == "").all() and good[COL].notna().all()
    waves = [load_audio(audio_dir / w.lstrip("/"), SR) for w in pairs["wavname"]]
    ref = _direct(model, pairs["caption"], waves)
    np.testing.assert_allclose(good[COL], ref, atol=1e-5)
    assert (good["warning"] == "short (0.40 s)").all()
    tail = out.loc[[200, 201, 202, 203]]
    assert tail.loc[200, "warning"] == "silent" and np.isfinite(tail.loc[200, COL])
    assert "broken.wav: cannot decode" in tail.loc[201, "error"]
    assert tail.loc[202, "error"] == "my.csv row 16: audio ('wavname') is empty"
    assert tail.loc[203, "error"] == "my.csv row 17: caption ('caption') is empty"
    assert tail.loc[[201, 202, 203], COL].isna().all()


def test_score_pairs_missing_column(model, pairs):
    with pytest.raises(KeyError, match=r"my.csv: no column 'text' or 'audio' \(columns: wavname"):
        score_pairs(model, pairs, source="my.csv")


# ----------------------------------------------------------------------------- CLI
def _cli(pairs_csv, audio_dir, out, *extra) -> int:
    return main(
        [
            "score",
            "--model",
            "tiny:random",
            "--pairs",
            str(pairs_csv),
            "--audio-dir",
            str(audio_dir),
            "--out",
            str(out),
            "--text-col",
            "caption",
            "--audio-col",
            "wavname",
            *extra,
        ]
    )


def test_cli_scores_a_csv(model, pairs, audio_dir, tmp_path, capsys):
    pairs_csv = tmp_path / "pairs.csv"
    pairs.assign(caption=pairs["caption"].where(pairs.index != 3, "NA")).to_csv(
        pairs_csv, index=False
    )
    out = tmp_path / "results" / "scores.csv"
    out.parent.mkdir()
    assert _cli(pairs_csv, audio_dir, out, "--batch-size", "4", "--num-workers", "1") == 0
    err = capsys.readouterr().err
    assert f"14 of 14 pairs scored -> {out}" in err and "7 unique" in err
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert table.loc[3, "caption"] == "NA"  # read as text, not as a missing value
    expected = score_pairs(
        model,
        pd.read_csv(pairs_csv, keep_default_na=False, na_values=[""], dtype={"caption": str}),
        text_col="caption",
        audio_col="wavname",
        audio_dir=audio_dir,
        cache_dir=None,
    )
    np.testing.assert_allclose(table[COL], expected[COL], atol=1e-6)
    assert not list(out.parent.glob(".*.tmp"))


def test_cli_failed_rows_exit_3(pairs, audio_dir, tmp_path, capsys):
    (audio_dir / "tango" / "test" / "0.wav").write_bytes(b"")
    pairs_csv = tmp_path / "pairs.csv"
    pairs.to_csv(pairs_csv, index=False)
    out = tmp_path / "scores.csv"
    assert _cli(pairs_csv, audio_dir, out, "--cache-dir", "none") == EXIT_ROWS_FAILED
    err = capsys.readouterr().err
    assert "12 of 14 pairs scored" in err and "2 failed" in err
    bad = pairs.index[pairs["wavname"] == "/tango/test/0.wav"]
    assert f"{pairs_csv} line {bad[0] + 2}: " in err and "empty file (0 bytes)" in err
    table = pd.read_csv(out)
    assert len(table) == 14
    assert table.loc[bad, COL].isna().all()
    assert table.loc[bad, "error"].str.contains("0.wav: empty file").all()
    assert table.drop(index=bad)[COL].notna().all()


def test_cli_input_errors(pairs, audio_dir, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert _cli(tmp_path / "nope.csv", audio_dir, out) == 2
    assert "nope.csv: no such pairs CSV" in capsys.readouterr().err
    pairs_csv = tmp_path / "pairs.csv"
    pairs.rename(columns={"caption": "text"}).to_csv(pairs_csv, index=False)
    assert _cli(pairs_csv, audio_dir, out) == 2
    err = capsys.readouterr().err
    assert f"{pairs_csv}: no column 'caption' (--text-col); columns: wavname, text, score" in err
    pairs.to_csv(pairs_csv, index=False)
    assert _cli(pairs_csv, tmp_path / "no-dir", out) == 2
    assert "no-dir: no such folder" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert _cli(empty, audio_dir, out) == 2
    assert "empty.csv: cannot read the CSV" in capsys.readouterr().err
    args = ["--pairs", str(pairs_csv), "--out", str(out), "--text-col", "caption"]
    code = main(["score", "--model", "nonsense:x", *args, "--audio-col", "wavname"])
    assert code == 2 and "--model nonsense:x" in capsys.readouterr().err
    assert not out.exists()


def test_cli_interrupted_run_resumes(pairs, audio_dir, tmp_path, monkeypatch, capsys):
    pairs_csv = tmp_path / "pairs.csv"
    pairs.to_csv(pairs_csv, index=False)
    cache = tmp_path / "cache"
    real_load = humanclap.models.load
    audio_batches: list[int] = []
    text_batches: list[int] = []

    def patched_load(spec, device="cpu", interrupt=False):
        model = real_load(spec, device=device)
        embed_a, embed_t = model.embed_audio, model.embed_text

        def embed_audio(batch):
            if interrupt and audio_batches:
                raise KeyboardInterrupt
            audio_batches.append(len(batch))
            return embed_a(batch)

        def embed_text(batch):
            text_batches.append(len(batch))
            return embed_t(batch)

        model.embed_audio, model.embed_text = embed_audio, embed_text
        return model

    monkeypatch.setattr(humanclap.models, "load", lambda s, device: patched_load(s, device, True))
    out = tmp_path / "scores.csv"
    args = ("--batch-size", "3", "--cache-dir", str(cache))
    assert _cli(pairs_csv, audio_dir, out, *args) == EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err and not out.exists()
    assert audio_batches == [3] and text_batches == [4]  # 4 unique captions, 7 unique clips

    audio_batches.clear()
    text_batches.clear()
    monkeypatch.setattr(humanclap.models, "load", lambda s, device: patched_load(s, device))
    assert _cli(pairs_csv, audio_dir, out, *args) == 0
    assert audio_batches == [3, 1] and text_batches == []  # only the 4 remaining clips
    monkeypatch.setattr(humanclap.models, "load", real_load)
    clean = tmp_path / "clean.csv"
    assert _cli(pairs_csv, audio_dir, clean, "--cache-dir", "none") == 0
    resumed, fresh = pd.read_csv(out), pd.read_csv(clean)
    pd.testing.assert_frame_equal(resumed.drop(columns=COL), fresh.drop(columns=COL))
    np.testing.assert_allclose(resumed[COL], fresh[COL], atol=1e-6)


# ----------------------------------------------------------------------------- issue 10
def _score_args(pairs_csv, out, *extra) -> list[str]:
    return ["score", "--model", "tiny:random", "--pairs", str(pairs_csv), "--out", str(out),
            "--cache-dir", "none", *extra]  # fmt: skip


def test_ctrl_c_while_loading_the_model_is_one_line(
    pairs, audio_dir, tmp_path, monkeypatch, capsys
):
    pairs_csv = tmp_path / "pairs.csv"
    pairs.to_csv(pairs_csv, index=False)

    def interrupted(spec, device="cpu"):
        raise KeyboardInterrupt

    monkeypatch.setattr(humanclap.models, "load", interrupted)
    out = tmp_path / "scores.csv"
    assert _cli(pairs_csv, audio_dir, out) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err == f"humanclap score: interrupted while loading the model; {out} not written.\n"


def test_bad_out_is_refused_before_the_model_loads(pairs, audio_dir, tmp_path, monkeypatch, capsys):
    pairs_csv = tmp_path / "pairs.csv"
    pairs.to_csv(pairs_csv, index=False)
    monkeypatch.setattr(humanclap.models, "load", lambda *a, **k: pytest.fail("model loaded"))
    assert _cli(pairs_csv, audio_dir, tmp_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--out {tmp_path}: is a folder" in err
    assert _cli(pairs_csv, audio_dir, tmp_path / "no" / "such" / "out.csv") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no such folder {tmp_path / 'no' / 'such'}" in err


def test_relative_audio_paths_start_from_the_csv_folder(model, tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "clips").mkdir(parents=True)
    sf.write(data / "clips" / "a.wav", np.full(SR, 0.1, np.float32), SR)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sf.write(elsewhere / "b.wav", np.full(SR, 0.2, np.float32), SR)
    csv_path = data / "pairs.csv"
    csv_path.write_text(f"text,audio\nhum,clips/a.wav\nhum,{elsewhere / 'b.wav'}\n")
    monkeypatch.chdir(elsewhere)  # neither the CSV's folder nor where clips/ is
    out = tmp_path / "out.csv"
    assert main(_score_args(csv_path, out)) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert table[COL].notna().all() and list(table["audio"])[0] == "clips/a.wav"
    # --audio-dir replaces the CSV's folder (and strips a leading "/", as for RELATE)
    csv_path.write_text("text,audio\nhum,/b.wav\n")
    assert main(_score_args(csv_path, out, "--audio-dir", str(elsewhere))) == 0
    assert pd.read_csv(out)[COL].notna().all()


def test_help_shows_defaults_and_models_lists_every_spec_form(capsys):
    with pytest.raises(SystemExit) as done:
        main(["score", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # as read, without argparse's line breaks
    for default in ("(default: text)", "(default: audio)", "(default: utf-8)", "(default: cpu)",
                    "(default: 32)", "(default: 2)", "(default: auto)"):  # fmt: skip
        assert default in text
    assert "pairs CSV's folder" in text and "--no-progress" in text and "--allow-truncated" in text
    assert "`humanclap models`" in text and "--precision" in text and "--json" in text
    assert main(["models"]) == 0
    listed = capsys.readouterr().out
    for form in humanclap.models.valid_spec_forms():
        assert form in listed


def test_messages_use_csv_line_numbers_after_multi_line_captions(audio_dir, tmp_path, capsys):
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_text(
        "caption,wavname\n"
        '"a dog barks\nthen a car passes",/tango/test/0.wav\n'  # lines 2-3
        "rain,/gone.wav\n"  # line 4
        "   ,/tango/test/2.wav\n"  # line 5: whitespace-only caption
        ",/tango/test/2.wav\n"  # line 6: empty caption
    )
    out = tmp_path / "out.csv"
    assert _cli(csv_path, audio_dir, out, "--cache-dir", "none") == EXIT_ROWS_FAILED
    err = capsys.readouterr().err
    assert f"  {csv_path} line 4: {audio_dir / 'gone.wav'}: no such audio file" in err
    assert f"  {csv_path} line 5: caption ('caption') is empty" in err
    assert f"  {csv_path} line 6: caption ('caption') is empty" in err
    assert "row " not in err and "object at 0x" not in err and "<bytes>" not in err
    table = pd.read_csv(out, keep_default_na=False)
    assert table.loc[0, "caption"] == "a dog barks\nthen a car passes"
    assert list(table["error"])[2:] == [f"{csv_path} line {n}: caption ('caption') is empty"
                                        for n in (5, 6)]  # fmt: skip


def test_empty_captions_are_errors_in_the_library_as_in_the_cli(model, audio_dir):
    pairs = pd.DataFrame({"text": ["rain", "", "  \t"], "audio": ["/tango/test/0.wav"] * 3})
    out = score_pairs(model, pairs, audio_dir=audio_dir, cache_dir=None, source="t")
    assert np.isfinite(out.loc[0, COL]) and out[COL][1:].isna().all()
    assert list(out["error"]) == ["", "t row 1: caption ('text') is empty",
                                  "t row 2: caption ('text') is empty"]  # fmt: skip
    clip = audio_dir / "tango" / "test" / "0.wav"
    with pytest.raises(ValueError, match=r"texts\[1\]: empty caption"):
        clapscore(model, ["rain", " "], [clip, clip], cache_dir=None)
    with pytest.raises(TypeError, match=r"texts\[0\]"):
        clapscore(model, [None], [clip], cache_dir=None)


def test_long_captions_are_flagged(model, audio_dir, tmp_path):
    long = " ".join(["word"] * 40)  # tiny: the start token + 40 words, cut to 32
    pairs = pd.DataFrame({"text": [long, "rain"], "audio": ["/tango/test/0.wav"] * 2})
    out = score_pairs(model, pairs, audio_dir=audio_dir, cache_dir=tmp_path / "c")
    assert list(out["warning"]) == ["short (0.40 s); caption cut to 32 tokens (had 41)",
                                    "short (0.40 s)"]  # fmt: skip
    again = score_pairs(model, pairs, audio_dir=audio_dir, cache_dir=tmp_path / "c")
    assert list(again["warning"]) == list(out["warning"])  # cached captions are flagged too


def test_encoding(audio_dir, tmp_path, capsys):
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_bytes("caption,wavname\nrain,/tango/test/0.wav\ncafé,/tango/test/2.wav\n"
                         .encode("latin-1"))  # fmt: skip
    out = tmp_path / "out.csv"
    assert _cli(csv_path, audio_dir, out) == 2
    err = capsys.readouterr().err
    assert f"{csv_path} line 3: not utf-8 text (byte 0xe9" in err and "--encoding" in err
    assert _cli(csv_path, audio_dir, out, "--encoding", "latin-1", "--cache-dir", "none") == 0
    assert pd.read_csv(out)["caption"].tolist() == ["rain", "café"]
    assert _cli(csv_path, audio_dir, out, "--encoding", "klingon") == 2
    assert "encoding 'klingon': unknown" in capsys.readouterr().err


def test_progress_switch(pairs, audio_dir, tmp_path, capsys):
    pairs_csv = tmp_path / "pairs.csv"
    pairs.to_csv(pairs_csv, index=False)
    out = tmp_path / "out.csv"
    assert _cli(pairs_csv, audio_dir, out, "--cache-dir", "none", "--progress") == 0
    assert "embedding audio" in capsys.readouterr().err
    assert _cli(pairs_csv, audio_dir, out, "--cache-dir", "none", "--no-progress") == 0
    assert "embedding audio" not in capsys.readouterr().err
    assert _cli(pairs_csv, audio_dir, out, "--cache-dir", "none") == 0  # stderr is no terminal
    assert "embedding audio" not in capsys.readouterr().err
