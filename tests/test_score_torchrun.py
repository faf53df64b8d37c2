"""``torchrun --nproc_per_node N -m humanclap score ...``: each rank scores a slice of the pairs,
rank 0 writes what one process writes (issue 22, "Scoring sharded across GPUs with torchrun").

The ranks run as separate processes on this machine (gloo, CPU, 127.0.0.1 only): through
torchrun itself, or started by hand with the variables torchrun sets, which shows each rank's
exit status (torchrun exits 1 when any rank's status is not 0).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import humanclap.models
from humanclap.cli import main
from humanclap.cli.distributed import ENV_TIMEOUT, Ranks, launched_by_torchrun, rank_device
from humanclap.cli.score import EXIT_ROWS_FAILED
from humanclap.runtime import cpu_pin_env
from humanclap.score import score_pairs
from humanclap.score.shard import merge_shards, shard_rows

SR = 16000
ROOT = Path(__file__).resolve().parents[1]
CAPTIONS = ["a dog barks", "rain falls on a roof", "a car passes by", "birds sing"]
COL = "clapscore_tiny_random"
#: A wait for a rank that never comes gives up after this many seconds in the tests.
SHORT_TIMEOUT = "3"


@pytest.fixture
def pairs_csv(tmp_path: Path) -> Path:
    """15 rows: seven clips with two captions each (one clip an empty file), then one more row
    of the first clip; ``audio/`` beside it."""
    root = tmp_path / "audio"
    rng = np.random.default_rng(0)
    rows = []
    for i in range(7):
        path = root / ("a" if i % 2 else "b") / f"{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        rate = (16000, 22050, 44100)[i % 3]
        sf.write(path, (0.2 * rng.standard_normal(int(0.4 * rate))).astype(np.float32), rate)
        wavname = "/" + path.relative_to(root).as_posix()
        rows += [{"wavname": wavname, "caption": CAPTIONS[(i + j) % 4]} for j in range(2)]
    rows.append({"wavname": "/b/0.wav", "caption": "a last caption"})
    (root / "a" / "3.wav").write_bytes(b"")  # a bad clip: its rows fail, with their error
    out = tmp_path / "pairs.csv"
    pd.DataFrame(rows).to_csv(out, index=False)
    return out


@pytest.fixture
def clips(tmp_path: Path) -> tuple[Path, Path]:
    """A folder of five clips and its prompts file."""
    root = tmp_path / "clips"
    (root / "x").mkdir(parents=True)
    rng = np.random.default_rng(1)
    prompts = {"dog": "a dog barks", "rain": "rain on a roof", "car": "a car passes",
               "x/birds": "birds", "wind": "wind in the trees"}  # fmt: skip
    for key, suffix in zip(prompts, (".wav", ".flac", ".wav", ".wav", ".ogg"), strict=True):
        sf.write(root / f"{key}{suffix}", (0.1 * rng.standard_normal(SR // 2)).astype("f4"), SR)
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps(prompts))
    return root, path


def _pairs_args(pairs_csv: Path, out: Path, *extra: str) -> list[str]:
    return ["score", "--model", "tiny:random", "--pairs", str(pairs_csv), "--audio-dir",
            str(pairs_csv.parent / "audio"), "--text-col", "caption", "--audio-col", "wavname",
            "--out", str(out), "--num-workers", "0", *extra]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    """This process's environment (the test's private cache, offline) with the CPU settings
    the tests compute with (humanclap.runtime), so that every rank computes alike."""
    env = {**os.environ, **cpu_pin_env()}
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return {**env, **extra}


def _by_hand(argvs: list[list[str]], **extra: str) -> list[tuple[int, str]]:
    """Start one process per argv as ranks 0.. of a job; each one's exit status and stderr."""
    port = str(_free_port())
    procs = []
    for rank, argv in enumerate(argvs):
        env = _env(WORLD_SIZE=str(len(argvs)), RANK=str(rank), LOCAL_RANK=str(rank),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=port, **extra)  # fmt: skip
        procs.append(subprocess.Popen([sys.executable, *argv], env=env, cwd=ROOT, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))  # fmt: skip
    return [(p.wait(timeout=240), p.communicate()[1]) for p in procs]


def _summary(path: Path) -> dict:
    summary = json.loads(path.read_text())
    summary.pop("written")
    return summary


# ----------------------------------------------------------------------------- shards
def test_shard_rows_are_contiguous_balanced_and_in_order():
    for n in (0, 1, 5, 14, 15):
        for world_size in (1, 2, 3, 4):
            parts = [shard_rows(n, r, world_size) for r in range(world_size)]
            assert [i for p in parts for i in range(n)[p]] == list(range(n))
            sizes = [p.stop - p.start for p in parts]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    assert shard_rows(15, 1, 2) == slice(8, 15)
    with pytest.raises(ValueError, match="rank: expected 0 <= rank < world_size = 2, got 2"):
        shard_rows(5, 2, 2)
    with pytest.raises(ValueError, match="world_size: expected an integer >= 1, got 0"):
        shard_rows(5, 0, 0)


def test_merged_shards_are_the_table_of_one_process(pairs_csv, tmp_path):
    """Three slices scored apart and merged: the same rows, order, errors and warnings as the
    whole table (the embeddings from one cache, as a rerun has them)."""
    model = humanclap.models.load("tiny:random")
    table = pd.read_csv(pairs_csv, dtype=object)
    options = {"text_col": "caption", "audio_col": "wavname", "cache_dir": tmp_path / "cache",
               "audio_dir": pairs_csv.parent / "audio", "num_workers": 0}  # fmt: skip
    labels = [f"line {i + 2}" for i in range(len(table))]
    whole = score_pairs(model, table, row_labels=labels, **options)
    parts, infos = [], []
    for rank in range(3):
        part = shard_rows(len(table), rank, 3)
        scored, info = score_pairs(model, table.iloc[part], row_labels=labels[part],
                                   return_info=True, **options)  # fmt: skip
        parts.append(scored)
        infos.append(info)
    merged, info = merge_shards(parts, infos, n=len(table))
    pd.testing.assert_frame_equal(merged, whole)
    assert merged.to_csv(index=False) == whole.to_csv(index=False)
    assert info.audio.n_items == info.text.n_items == 15 and info.audio.n_failed == 2
    # per rank: clip 0 is in slices 0 and 2, the empty file is never cached
    assert (info.audio.n_unique, info.audio.n_cached, info.audio.n_embedded) == (9, 8, 0)
    failed = [i for i, e in enumerate(merged["error"]) if e]
    assert failed == [6, 7] and "3.wav: empty file (0 bytes)" in merged["error"][6]
    with pytest.raises(ValueError, match="shards: 14 rows in all, expected 15"):
        merge_shards(parts[:2] + [parts[2].iloc[1:]], n=15)
    with pytest.raises(ValueError, match="shard 1: columns"):
        merge_shards([parts[0], parts[1].drop(columns="warning")])


# ----------------------------------------------------------------------------- ranks
def test_rank_device_and_torchrun_variables():
    assert rank_device("auto", 1, 2) == ("cuda:1", None)
    assert rank_device("cuda", 0, 1) == ("cuda:0", None)
    assert rank_device("auto", 3, 0) == ("auto", None)
    assert rank_device("cpu", 1, 2) == ("cpu", None)
    assert "LOCAL_RANK 2, but this machine has 2 CUDA devices" in rank_device("cuda", 2, 2)[1]
    assert "give --device cuda or auto" in rank_device("cuda:1", 0, 2)[1]
    assert not launched_by_torchrun({}) and not launched_by_torchrun({"WORLD_SIZE": "1"})
    assert launched_by_torchrun({"WORLD_SIZE": "2"})
    env = {"WORLD_SIZE": "2", "RANK": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}
    ranks = Ranks.from_env(env)
    assert (ranks.rank, ranks.world_size, ranks.local_rank, ranks.timeout_s) == (1, 2, 1, 1800)
    with pytest.raises(ValueError, match=r"\$RANK=None: expected an integer"):
        Ranks.from_env({"WORLD_SIZE": "2"})
    with pytest.raises(ValueError, match=r"\$MASTER_PORT: not set \(torchrun sets them\)"):
        Ranks.from_env({k: v for k, v in env.items() if k != "MASTER_PORT"})
    with pytest.raises(ValueError, match=rf"\${ENV_TIMEOUT}=soon: expected a number"):
        Ranks.from_env({**env, ENV_TIMEOUT: "soon"})


@pytest.mark.slow
def test_two_ranks_write_what_one_process_writes(pairs_csv, tmp_path, capsys):
    """A bad clip: every rank exits 3, as one process does; rank 0 alone reports and writes the
    same CSV bytes and the same --json summary (the embeddings in one cache)."""
    out, summary = tmp_path / "scores.csv", tmp_path / "summary.json"
    argv = _pairs_args(pairs_csv, out, "--json", str(summary))
    assert main(argv) == EXIT_ROWS_FAILED
    one_csv, one_summary = out.read_bytes(), _summary(summary)
    out.unlink()
    summary.unlink()
    (rc0, err0), (rc1, err1) = _by_hand([["-m", "humanclap", *argv]] * 2)
    assert (rc0, rc1) == (EXIT_ROWS_FAILED, EXIT_ROWS_FAILED), err0 + err1
    assert out.read_bytes() == one_csv
    assert _summary(summary) == one_summary
    assert "13 of 15 pairs scored" in err0 and f"{pairs_csv} line 8: " in err0
    assert "2 ranks (gloo, rank 0 on cpu)" in err0
    assert err1 == ""  # rank 0 alone reports


@pytest.mark.slow
def test_torchrun_folder_then_one_process_resumes_from_its_cache(clips, tmp_path, capsys):
    """torchrun (2 ranks) on a folder with a fresh cache; then one process with the same
    cache embeds nothing and writes the same bytes. The scores equal a cache-less single
    process's to float32 rounding (a clip embedded in another batch can differ in the last
    digits, as with another --batch-size)."""
    folder, prompts = clips
    out = tmp_path / "scores.csv"
    argv = ["score", str(folder), "--prompts", str(prompts), "--model", "tiny:random",
            "--out", str(out), "--num-workers", "0", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    port = str(_free_port())
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node",
         "2", "--master_addr", "127.0.0.1", "--master_port", port, "-m", "humanclap", *argv],
        env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "5 of 5 pairs scored" in run.stderr and "2 ranks (gloo" in run.stderr
    two_csv = out.read_bytes()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "0 embedded" in err and "5 cached" in err  # every clip and prompt from the shards
    assert out.read_bytes() == two_csv
    assert main([*argv[:-1], "none"]) == 0  # --cache-dir none
    fresh, sharded = pd.read_csv(out), pd.read_csv(io.BytesIO(two_csv))
    np.testing.assert_allclose(sharded[COL], fresh[COL], rtol=0, atol=1e-6)
    pd.testing.assert_frame_equal(sharded.drop(columns=COL), fresh.drop(columns=COL))


@pytest.mark.slow
def test_a_rank_with_bad_input_stops_every_rank(pairs_csv, tmp_path):
    out = tmp_path / "scores.csv"
    good = _pairs_args(pairs_csv, out, "--cache-dir", "none")
    bad = _pairs_args(tmp_path / "nope.csv", out, "--cache-dir", "none")
    (rc0, err0), (rc1, err1) = _by_hand([["-m", "humanclap", *good], ["-m", "humanclap", *bad]])
    assert (rc0, rc1) == (2, 2)
    assert f"rank 1 of 2 stopped: {tmp_path / 'nope.csv'}: no such pairs CSV" in err0
    assert err1 == "" and not out.exists()


@pytest.mark.slow
def test_a_rank_that_dies_stops_the_others(pairs_csv, tmp_path):
    """Rank 1 joins, then dies without a word: rank 0 stops with a message, writes nothing;
    a rank that never comes: rank 0 gives up after $HUMANCLAP_DIST_TIMEOUT."""
    out = tmp_path / "scores.csv"
    argv = ["-m", "humanclap", *_pairs_args(pairs_csv, out, "--cache-dir", "none")]
    dies = ("import os, datetime, torch.distributed as dist; "
            "dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=60)); "
            "os._exit(9)")  # fmt: skip
    (rc0, err0), (rc1, _) = _by_hand([argv, ["-c", dies]])
    assert (rc0, rc1) == (1, 9)
    assert "rank 0 of 2: lost contact with the other ranks" in err0 and not out.exists()
    port = str(_free_port())
    env = _env(WORLD_SIZE="2", RANK="0", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
               MASTER_PORT=port, **{ENV_TIMEOUT: SHORT_TIMEOUT})  # fmt: skip
    alone = subprocess.run([sys.executable, *argv], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert alone.returncode == 1
    assert "rank 0 of 2: could not join the other ranks" in alone.stderr
    assert f"waited up to {SHORT_TIMEOUT} s" in alone.stderr
