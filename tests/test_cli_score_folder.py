"""``humanclap score FOLDER --prompts FILE``, ``--json``, ``--device``, ``--precision``, the
score column named after the model, and ``humanclap models`` (issue 20, part 5)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

import humanclap.models
from humanclap import runtime
from humanclap.cli import main
from humanclap.score import (
    PromptError,
    match_prompts,
    read_prompts,
    score_column,
    score_pairs,
    score_summary,
)
from humanclap.score.summary import failure_kind
from humanclap.stats import mean_ci

SR = 16000
PROMPTS = {
    "dog": "a dog barks",
    "rain": "rain on a roof",
    "car": "a car passes",
    "x/birds": "birds",
}


@pytest.fixture
def clips(tmp_path):
    """``clips/dog.wav``, ``rain.flac``, ``car.wav``, ``x/birds.wav``: 0.5 s of noise each."""
    root = tmp_path / "clips"
    (root / "x").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("dog.wav", "rain.flac", "car.wav", "x/birds.wav"):
        sf.write(root / name, (0.1 * rng.standard_normal(SR // 2)).astype(np.float32), SR)
    (root / ".hidden.wav").write_bytes(b"")  # hidden files are not clips
    (root / "notes.txt").write_text("not audio")
    return root


def _score(*argv) -> int:
    return main(["score", "--model", "tiny:random", "--cache-dir", "none", *map(str, argv)])


# ----------------------------------------------------------------------------- column names
@pytest.mark.parametrize(
    ("spec", "column"),
    [
        ("tiny", "clapscore_tiny"),
        ("tiny:random:3", "clapscore_tiny_random_3"),
        ("laion:630k-audioset-best", "clapscore_laion_630k_audioset_best"),
        (
            "hf:sarulab-speech/human-clap-wsce-mae",
            "clapscore_hf_sarulab_speech_human_clap_wsce_mae",
        ),
        ("/runs/Best-Model.pt", "clapscore_best_model"),
        ("hf:/runs/my folder/", "clapscore_hf_my_folder"),
    ],
)
def test_score_column_is_named_after_the_model(spec, column):
    assert score_column(spec) == column


def test_score_column_needs_a_letter():
    with pytest.raises(ValueError, match="no letter or digit"):
        score_column("::")


# ----------------------------------------------------------------------------- prompts files
def test_prompts_csv_tsv_json_read_alike(tmp_path):
    (tmp_path / "p.csv").write_text(
        "ytid,caption\n" + "".join(f"{k},{v}\n" for k, v in PROMPTS.items())
    )
    (tmp_path / "p.tsv").write_text(
        "file\ttext\n" + "".join(f"{k}\t{v}\n" for k, v in PROMPTS.items())
    )
    (tmp_path / "p.json").write_text(json.dumps(PROMPTS))
    for name in ("p.csv", "p.tsv", "p.json"):
        prompts = read_prompts(tmp_path / name)
        assert {p.key: p.text for p in prompts} == PROMPTS
    assert [p.where for p in read_prompts(tmp_path / "p.csv")][:2] == ["line 2", "line 3"]
    assert read_prompts(tmp_path / "p.json")[0].where == "key 'dog'"


def test_prompts_file_errors_name_file_and_rows(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,text,other\na,rain,1\nb,,2\na,wind,3\n")
    with pytest.raises(PromptError) as err:
        read_prompts(path)
    assert f"{path}: 2 problem(s)" in str(err.value)
    assert "line 3: empty text" in str(err.value)
    assert "duplicate key 'a' on line 2, line 4" in str(err.value)
    path.write_text("name,words\na,rain\n")
    with pytest.raises(PromptError, match="no column text / caption / prompt / description"):
        read_prompts(path, key_col="name")
    with pytest.raises(PromptError, match=r"no column 'wrong' \(--prompt-text-col\)"):
        read_prompts(path, key_col="name", text_col="wrong")
    twice = tmp_path / "twice.json"
    twice.write_text('{"a": "rain", "a": "wind"}')  # json.load would keep only "wind"
    with pytest.raises(PromptError, match="duplicate key 'a' on key 'a', key 'a'"):
        read_prompts(twice)
    with pytest.raises(PromptError, match="not a JSON object"):
        (tmp_path / "bad.json").write_text("[1, 2")
        read_prompts(tmp_path / "bad.json")


def test_match_by_exact_name_or_stem(clips, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"dog.wav": "a", "rain": "b", "./car": "c", "x/birds.wav": "d"}))
    matched = match_prompts(clips, read_prompts(path), source=str(path))
    assert [(m.file, m.prompt.text) for m in matched] == [
        ("dog.wav", "a"), ("rain.flac", "b"), ("car.wav", "c"), ("x/birds.wav", "d"),
    ]  # fmt: skip


def test_match_errors_name_every_problem(clips, tmp_path):
    sf.write(clips / "dog.flac", np.zeros(SR, np.float32), SR)  # stem "dog" is now ambiguous
    path = tmp_path / "p.csv"
    path.write_text("id,text\ndog,a\nrain,b\nrain.flac,c\nwolf,d\n")
    with pytest.raises(PromptError) as err:
        match_prompts(clips, read_prompts(path), source=str(path))
    text = str(err.value)
    assert f"{path} line 2: key 'dog' names 2 clips (dog.flac, dog.wav)" in text
    assert f"{path} line 4: key 'rain.flac' names rain.flac, as line 3 (key 'rain') does" in text
    assert f"{path} line 5: key 'wolf' has no clip in {clips}" in text
    assert f"{clips}/car.wav: no prompt in {path}" in text
    assert f"{clips}/x/birds.wav: no prompt in {path}" in text


# ----------------------------------------------------------------------------- the command
def test_cli_scores_a_folder_with_a_prompts_file(clips, tmp_path, capsys):
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps(PROMPTS))
    out, summary = tmp_path / "out.csv", tmp_path / "summary.json"
    assert _score(clips, "--prompts", prompts, "--out", out, "--json", summary) == 0
    table = pd.read_csv(out)
    col = "clapscore_tiny_random"
    assert list(table.columns) == ["file", "key", "text", col, "model", "model_fingerprint",
                                   "error", "warning"]  # fmt: skip
    assert list(table["file"]) == ["dog.wav", "rain.flac", "car.wav", "x/birds.wav"]
    model = humanclap.models.load("tiny:random")
    assert (table["model"] == "tiny:random").all()
    assert (table["model_fingerprint"] == model.fingerprint).all()
    frame = pd.DataFrame({"text": list(PROMPTS.values()), "audio": list(table["file"])})
    expected = score_pairs(model, frame, audio_dir=clips, cache_dir=None)
    np.testing.assert_allclose(table[col], expected[col], atol=1e-6)
    facts = json.loads(summary.read_text())
    assert facts["n"] == 4 and facts["n_scored"] == 4 and facts["failures"] == {}
    assert facts["mean"]["mean"] == pytest.approx(table[col].mean())
    assert facts["mean"]["lo"] <= facts["mean"]["mean"] <= facts["mean"]["hi"]
    assert facts["mean"]["resampled"] == "captions" and facts["mean"]["seed"] == 0
    assert facts["model"] == {"spec": "tiny:random", "backend": model.backend,
                              "fingerprint": model.fingerprint}  # fmt: skip
    assert facts["device"] == "cpu" and facts["precision"] == "fp32"
    assert set(facts["packages"]) == {"humanclap", "torch", "transformers", "laion_clap",
                                      "numpy", "pandas", "huggingface_hub"}  # fmt: skip
    assert facts["packages"]["torch"] and facts["packages"]["humanclap"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_json_to_stdout_counts_failures_by_kind(clips, tmp_path, capsys):
    (clips / "car.wav").write_bytes(b"")
    prompts = tmp_path / "p.csv"
    prompts.write_text("id,caption\n" + "".join(f"{k},{v}\n" for k, v in PROMPTS.items()))
    out = tmp_path / "out.csv"
    assert _score(clips, "--prompts", prompts, "--out", out, "--json", "-") == 3
    captured = capsys.readouterr()
    facts = json.loads(captured.out)
    assert facts["n"] == 4 and facts["n_scored"] == 3 and facts["exit_status"] == 3
    assert facts["failures"] == {"empty file": 1}
    assert f"{prompts} line 4: " in captured.err  # the failed row named by its prompts line


def test_mean_ci_resamples_captions_together():
    scores = np.array([0.1, 0.1, 0.1, 0.9])
    by_caption = mean_ci(scores, ["a", "a", "a", "b"], n_boot=2000, seed=1)
    by_pair = mean_ci(scores, ["a", "b", "c", "d"], n_boot=2000, seed=1)
    assert by_caption["n_units"] == 2 and by_pair["n_units"] == 4
    # two captions: a resample is all "a" (0.1), all "b" (0.9) or both (0.3)
    assert by_caption["lo"] == pytest.approx(0.1) and by_caption["hi"] == pytest.approx(0.9)
    assert mean_ci(scores, ["a", "a", "a", "b"], n_boot=2000, seed=1) == by_caption  # seeded


def test_failure_kinds():
    assert (
        failure_kind("a.wav: cannot decode audio (Format not recognised)") == "cannot decode audio"
    )
    assert failure_kind("p.csv line 5: caption ('text') is empty") == "caption is empty"
    assert failure_kind("x.wav: truncated: header says 3 s") == "truncated"
    table = pd.DataFrame({"c": [np.nan, 0.5], "error": ["a.wav: empty file (0 bytes)", ""],
                          "t": ["x", "y"]})  # fmt: skip
    assert score_summary(table, "c", text_col="t", n_boot=10)["failures"] == {"empty file": 1}


def test_device_auto_is_said_and_bad_precision_names_the_option(clips, tmp_path, capsys):
    prompts = tmp_path / "p.json"
    prompts.write_text(json.dumps(PROMPTS))
    out = tmp_path / "out.csv"
    assert _score(clips, "--prompts", prompts, "--out", out, "--device", "auto") == 0
    assert "humanclap score: --device auto: using cpu" in capsys.readouterr().err
    assert _score(clips, "--prompts", prompts, "--out", out, "--precision", "fp16") == 2
    assert "--precision fp16: precision='fp16' needs CUDA" in capsys.readouterr().err
    assert _score(clips, "--prompts", prompts, "--out", out, "--device", "cuda:3") == 2
    err = capsys.readouterr().err
    assert "--device cuda:3: device 'cuda:3': this machine has no such device" in err
    assert "--model" not in err


def test_pairs_and_folder_are_exclusive(clips, tmp_path, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("text,audio\nrain,clips/rain.flac\n")
    assert _score(clips, "--pairs", pairs, "--out", tmp_path / "o.csv") == 2
    assert "not both" in capsys.readouterr().err
    assert _score(clips, "--out", tmp_path / "o.csv") == 2
    assert "a FOLDER of clips with --prompts FILE" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the device
def test_resolve_device_auto_prefers_cuda_then_mps(monkeypatch):
    mps = torch.backends.mps
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(mps, "is_available", lambda: True)
    assert runtime.resolve_device("auto") == torch.device("cuda")
    assert runtime.resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ValueError, match="'cuda:2': this machine has no such device"):
        runtime.resolve_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(mps, "is_available", lambda: False)
    assert runtime.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="'mps': this machine has no such device"):
        runtime.resolve_device("mps")
    with pytest.raises(ValueError, match="'gpu': not a device"):
        runtime.resolve_device("gpu")


# ----------------------------------------------------------------------------- models
def test_models_lists_the_registry(capsys):
    from humanclap.models.hub_pins import HUMAN_CLAP_REPOS
    from humanclap.models.laion import CHECKPOINTS

    assert main(["models"]) == 0
    listed = capsys.readouterr().out
    for form in humanclap.models.valid_spec_forms():
        assert f"  {form}\n" in listed
    for name in CHECKPOINTS:
        assert f"  laion:{name}\n" in listed
    for repo in HUMAN_CLAP_REPOS:
        assert f"  hf:{repo}\n" in listed
    assert "  tiny\n" in listed
