"""Benchmark: humanclap's audio-embedding path against laion_clap's own, on the same files.

Run ``python bench/embed.py`` (options: ``--help``; see ``bench/README.md``). A benchmark, not a
test: it asserts nothing, it measures and writes
``bench/results/embed-<device>-<tag>.json`` (``<tag>``: the host name unless ``--tag``) and
prints a short table.

Inputs
------
``--n-clips`` clips (default 32) are generated deterministically (seeded numpy) into a fresh
temporary folder: mono 16-bit WAV at ``--sample-rate`` (default 16 kHz, RELATE's format), each
``--min-seconds`` to ``--max-seconds`` long (default 4 to 10 s). Clips are never longer than the
model's 10 s window, so both paths are deterministic (humanclap crops long clips to their first
10 s, laion's ``rand_trunc`` at random). The model (``--model``, default ``laion:random``: the
LAION HTS-AT-tiny + RoBERTa architecture with seeded random weights, built offline) is written
once in LAION's checkpoint format (``LaionClap.save_laion``); both paths load that same file:
humanclap through ``humanclap.models.load("laion:<file>")``, laion_clap through
``CLAP_Module(...).load_ckpt(<file>)``. Same files, same weights, same ``torch.set_num_threads``.

What is measured
----------------
Each path runs in its own fresh Python subprocess, so peak memories are separate and neither
path warms caches for the other. Every timed phase follows one small warm-up call (2 clips)
that pays for lazy imports and first-call kernel set-up. Each path runs ``--repeats R``
(default 3) times, alternating (ours, laion, ours, laion, ...), and the run with the shortest
end-to-end time is reported for each (all end-to-end times are kept in the JSON): on a shared
machine the fastest run is the least disturbed one.

**ours**: ``humanclap.embed.embed_audio(model, paths, batch_size=B, num_workers=W,
cache_dir=<fresh empty folder>)``, end to end (read + sha256 + decode/resample in ``W``
threads overlapping the model, model, cache writes): *cold*. Cold includes the one-time
sha256 of the weights behind ``model.fingerprint`` (the cache key; paid once per model
object), which is also timed alone and reported as ``fingerprint_s``. Then the same call
again on the same cache folder: *warm* (hash the files, read the cached entries). The split
is measured in two separate passes after that: *decode* = ``humanclap.audio.load_audio(path,
48000)`` over all files, one after another in one thread; *model* = ``model.embed_audio``
on the preloaded waveforms in batches of ``B`` under ``torch.inference_mode`` (and the same
autocast as ``embed_audio`` on CUDA). Since ``embed_audio`` overlaps decoding with the model, cold
``~ max(model, decode / W) + hashing and cache overhead``, not their sum.

**laion**: ``CLAP_Module.get_audio_embedding_from_filelist(x=chunk, use_tensor=False)`` over
chunks of ``B`` paths, called exactly as laion's README does (autograd left on, as the hook
does not disable it; ``--laion-no-grad`` wraps the calls in ``torch.no_grad()``). Its split
is instrumented inside that one end-to-end run: ``librosa.load`` (the decode + 48 kHz
resampling the hook calls) and the module's ``model.get_audio_embedding`` (batch assembly,
device copy and the network) are wrapped with ``time.perf_counter`` timers (one timer per call;
on CUDA the model timer synchronises the device). The rest (``prep``) is laion's int16
quantisation and ``get_audio_features`` per clip, done serially between the two.

**peak RSS**: per subprocess, the kernel's high-water mark ``VmHWM`` is reset
(``/proc/self/clear_refs``) after the model is loaded and the warm-up done, and read after the
end-to-end call: the peak resident memory *of that call*, model weights included. The whole
process's peak (model loading and, for ours, the later split passes included) is reported
too. On CUDA, ``torch.cuda.max_memory_allocated`` of the call as well.

**identity**: max abs difference between the two paths' (N, D) embeddings; goal <= 1e-5 in
fp32. Ours is also compared with its own model-alone pass and with its warm (cached) re-run.

**dedup**: on a RELATE-like pair table (the synthetic world
``humanclap.data.synthetic.ensure_world(n_captions=--dedup-captions)``: one row per (clip,
caption) pair, each caption on ~3 rows, each clip on one), ``humanclap.score.clapscore(model,
texts, paths, batch_size=B, num_workers=W, cache_dir=None)`` (dedup, no disk cache) against a
no-dedup baseline that embeds every row's caption and clip: per chunk of ``B`` rows,
``load_audio`` each clip, ``model.embed_audio`` + ``model.embed_text`` under
``torch.inference_mode``, row-wise cosine (the two alternate ``R`` times in one subprocess;
the best of each is reported; their scores are compared). The baseline's audio and text
times are taken apart, which gives an estimate for the full RELATE REL table when its
ratings file is found (``--relate-dir``): ``rows * (a + t)`` without dedup against
``unique_clips * a + unique_captions * t`` with it (``a``, ``t``: per-row audio and text
costs).

The load average (``os.getloadavg``) before and after each subprocess is recorded: on a
shared machine other jobs slow both paths alike only if the load stays the same; rerun when
it is high.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
SCHEMA = "humanclap-bench-embed/1"
WARMUP_CLIPS = 2
WINDOW_SECONDS = 10.0
MIN_WORLD_CAPTIONS = 12  # humanclap.data.synthetic: 2 * RATINGS_PER_LISTENER
_OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HUMANCLAP_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


# ============================================================================= shared helpers
def _status_kib(field: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), None where unavailable."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (``VmHWM``) of this process; False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _mib(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024.0, 1)


def _peak_kib() -> int:
    """Peak RSS so far in KiB: ``VmHWM`` (resettable), else ``ru_maxrss`` (KiB on Linux)."""
    hwm = _status_kib("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _load_avg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic JSON write (temporary file + os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _setup_torch(cfg: dict[str, Any]):
    """Import torch in a worker, set its thread count, return (torch, device)."""
    import torch

    torch.set_num_threads(int(cfg["threads"]))
    device = torch.device(cfg["device"])
    return torch, device


def _sync(torch, device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _cuda_reset_peak(torch, device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _cuda_peak_mib(torch, device) -> float | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)


# ============================================================================= inputs
def make_clips(
    folder: Path, n_clips: int, sample_rate: int, min_seconds: float, max_seconds: float, seed: int
) -> list[tuple[Path, float]]:
    """Write ``n_clips`` deterministic mono 16-bit WAV clips; return ``(path, seconds)`` each.

    Each clip is three slowly amplitude-modulated tones plus low-level noise, peak 0.5, of a
    length drawn uniformly in [min_seconds, max_seconds] (rounded to 10 ms).
    """
    import soundfile as sf

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(n_clips):
        seconds = round(float(rng.uniform(min_seconds, max_seconds)), 2)
        t = np.arange(round(seconds * sample_rate)) / sample_rate
        freqs = rng.uniform(80.0, min(4000.0, 0.45 * sample_rate), size=3)
        rates = rng.uniform(0.2, 3.0, size=3)
        phases = rng.uniform(0.0, 2 * np.pi, size=3)
        wave = sum(
            (0.6 + 0.4 * np.sin(2 * np.pi * r * t + p)) * np.sin(2 * np.pi * f * t)
            for f, r, p in zip(freqs, rates, phases, strict=True)
        )
        wave = wave + 0.05 * rng.standard_normal(t.shape[0])
        wave = 0.5 * wave / np.max(np.abs(wave))
        path = folder / f"clip{i:04d}.wav"
        sf.write(path, wave.astype(np.float32), sample_rate, subtype="PCM_16")
        clips.append((path, seconds))
    return clips


# ============================================================================= workers
def worker_prepare(cfg: dict[str, Any]) -> dict[str, Any]:
    """Load ``cfg["model"]`` and write it in LAION's checkpoint format to ``cfg["checkpoint"]``."""
    from humanclap import models
    from humanclap.models.laion import LaionClap

    model = models.load(cfg["model"])
    if not isinstance(model, LaionClap):
        raise SystemExit(
            f"--model {cfg['model']!r}: is a {model.backend!r} model; this benchmark compares "
            "against laion_clap and needs a LAION-CLAP model ('laion:random', 'laion:<name>' "
            "or a LAION checkpoint)"
        )
    model.save_laion(cfg["checkpoint"])
    arch = model.config["arch"]
    return {
        "spec": model.spec,
        "fingerprint": model.fingerprint,
        "amodel": arch["amodel"],
        "fusion": bool(arch["fusion"]),
        "sample_rate": int(model.sample_rate),
        "embed_dim": int(model.embed_dim),
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
    }


def _load_ours(cfg: dict[str, Any], device):
    from humanclap import models

    model = models.load(f"laion:{cfg['checkpoint']}", device=str(device))
    return model.eval()


def worker_ours(cfg: dict[str, Any]) -> dict[str, Any]:
    """humanclap's path: cold and warm ``embed_audio``, then decode alone and model alone."""
    torch, device = _setup_torch(cfg)
    from humanclap.audio import load_audio
    from humanclap.embed import embed_audio
    from humanclap.runtime import autocast, resolve_precision

    paths = [Path(p) for p in cfg["paths"]]
    n, batch = len(paths), int(cfg["batch_size"])
    kw = {"batch_size": batch, "num_workers": int(cfg["num_workers"]), "progress": False}
    t0 = time.perf_counter()
    model = _load_ours(cfg, device)
    load_s = time.perf_counter() - t0
    precision = resolve_precision(cfg["precision"], device)
    embed_audio(model, paths[:WARMUP_CLIPS], cache_dir=None, precision=precision, **kw)
    rss_loaded, peak_loading = _status_kib("VmRSS"), _peak_kib()

    # cold, end to end, fresh cache folder
    peak_reset = _reset_peak_rss()
    _cuda_reset_peak(torch, device)
    t0 = time.perf_counter()
    cold, cold_info = embed_audio(
        model, paths, cache_dir=cfg["cache_dir"], precision=precision, return_info=True, **kw
    )
    cold_s = time.perf_counter() - t0
    peak_e2e = _status_kib("VmHWM") if peak_reset else None
    cuda_peak = _cuda_peak_mib(torch, device)

    # warm: the same call on the same cache folder
    t0 = time.perf_counter()
    warm, warm_info = embed_audio(
        model, paths, cache_dir=cfg["cache_dir"], precision=precision, return_info=True, **kw
    )
    warm_s = time.perf_counter() - t0

    # the one-time weight digest behind model.fingerprint (paid inside the cold call above)
    t0 = time.perf_counter()
    model.weights_digest()
    digest_s = time.perf_counter() - t0

    # split 1: decode + resample alone (one thread, sequential)
    t0 = time.perf_counter()
    waves = [load_audio(p, model.sample_rate) for p in paths]
    decode_s = time.perf_counter() - t0

    # split 2: the model alone on the preloaded waveforms
    chunks = []
    t0 = time.perf_counter()
    with torch.inference_mode(), autocast(device, precision):
        for start in range(0, n, batch):
            clips = [torch.from_numpy(w) for w in waves[start : start + batch]]
            chunks.append(model.embed_audio(clips).float().cpu().numpy())
    _sync(torch, device)
    model_s = time.perf_counter() - t0
    model_only = np.concatenate(chunks)

    np.save(cfg["emb_out"], cold)
    return {
        "precision": precision,
        "model_load_s": round(load_s, 3),
        "cold_s": round(cold_s, 3),
        "cold_clips_per_s": round(n / cold_s, 3),
        "cold_counts": {
            "n_unique": cold_info.n_unique,
            "n_cached": cold_info.n_cached,
            "n_embedded": cold_info.n_embedded,
        },
        "fingerprint_s": round(digest_s, 3),
        "fingerprint_note": "model.weights_digest() timed alone: the one-time cost (per model "
        "object) of the cache key, included in cold_s",
        "warm_s": round(warm_s, 4),
        "warm_clips_per_s": round(n / warm_s, 1),
        "warm_speedup": round(cold_s / warm_s, 1),
        "warm_counts": {"n_cached": warm_info.n_cached, "n_embedded": warm_info.n_embedded},
        "warm_max_abs_diff_vs_cold": float(np.max(np.abs(warm - cold))),
        "decode_s": round(decode_s, 3),
        "decode_note": "humanclap.audio.load_audio over all files, sequential, one thread",
        "model_s": round(model_s, 3),
        "model_note": f"model.embed_audio on preloaded waveforms, batches of {batch}, "
        "inference_mode",
        "overhead_s": round(cold_s - model_s, 3),
        "model_only_max_abs_diff_vs_cold": float(np.max(np.abs(model_only - cold))),
        "rss_after_load_mib": _mib(rss_loaded),
        "peak_rss_e2e_mib": _mib(peak_e2e),
        "peak_rss_process_mib": _mib(max(peak_loading, _peak_kib())),
        "cuda_peak_alloc_e2e_mib": cuda_peak,
        "torch_threads": torch.get_num_threads(),
    }


def _import_laion_clap():
    """``import laion_clap`` offline: its ``training.data`` loads hub tokenizers at import."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from humanclap.models import laion as hl

    hl.clap_module()  # registers clap_module as laion_clap expects, offline
    import laion_clap

    return laion_clap


def worker_laion(cfg: dict[str, Any]) -> dict[str, Any]:
    """laion_clap's path: ``get_audio_embedding_from_filelist`` in chunks, instrumented."""
    import contextlib

    torch, device = _setup_torch(cfg)
    import librosa

    laion_clap = _import_laion_clap()
    from humanclap.models import laion as hl
    from humanclap.models.tokenizer import roberta_tokenizer

    class _Tokenizer:  # CLAP_Module loads roberta-base's tokenizer (unused for audio) offline
        @staticmethod
        def from_pretrained(name: str, *args: Any, **kwargs: Any):
            return roberta_tokenizer(allow_gpt2=True)

    laion_clap.hook.RobertaTokenizer = _Tokenizer
    paths = [str(p) for p in cfg["paths"]]
    n, batch = len(paths), int(cfg["batch_size"])
    t0 = time.perf_counter()
    with hl.roberta_base_text_branch():
        module = laion_clap.CLAP_Module(
            enable_fusion=cfg["fusion"], device=str(device), amodel=cfg["amodel"]
        )
    with contextlib.redirect_stdout(sys.stderr):  # load_ckpt prints
        module.load_ckpt(cfg["checkpoint"], verbose=False)
    load_s = time.perf_counter() - t0

    grad = contextlib.nullcontext if not cfg["laion_no_grad"] else torch.no_grad

    def run(files: list[str]) -> np.ndarray:
        out = []
        with grad():
            for start in range(0, len(files), batch):
                chunk = files[start : start + batch]
                out.append(module.get_audio_embedding_from_filelist(x=chunk, use_tensor=False))
        return np.concatenate(out)

    # instrument: librosa.load (decode + resample) and the module's get_audio_embedding
    timers = {"decode_s": 0.0, "model_s": 0.0}
    original_load = librosa.load
    original_embed = module.model.get_audio_embedding

    def timed_load(*args: Any, **kwargs: Any):
        start = time.perf_counter()
        try:
            return original_load(*args, **kwargs)
        finally:
            timers["decode_s"] += time.perf_counter() - start

    def timed_embed(data):
        start = time.perf_counter()
        out = original_embed(data)
        _sync(torch, device)
        timers["model_s"] += time.perf_counter() - start
        return out

    librosa.load = timed_load
    module.model.get_audio_embedding = timed_embed

    run(paths[:WARMUP_CLIPS])
    rss_loaded, peak_loading = _status_kib("VmRSS"), _peak_kib()
    timers.update(decode_s=0.0, model_s=0.0)
    peak_reset = _reset_peak_rss()
    _cuda_reset_peak(torch, device)
    t0 = time.perf_counter()
    emb = run(paths)
    e2e_s = time.perf_counter() - t0
    peak_e2e = _status_kib("VmHWM") if peak_reset else None
    np.save(cfg["emb_out"], emb.astype(np.float32))
    return {
        "precision": "fp32",
        "grad_mode": "no_grad (--laion-no-grad)"
        if cfg["laion_no_grad"]
        else "enabled (laion's hook does not disable autograd; called as its README does)",
        "model_load_s": round(load_s, 3),
        "e2e_s": round(e2e_s, 3),
        "clips_per_s": round(n / e2e_s, 3),
        "decode_s": round(timers["decode_s"], 3),
        "decode_note": "librosa.load(f, sr=48000) calls inside the run, timed by a wrapper",
        "model_s": round(timers["model_s"], 3),
        "model_note": "CLAP.get_audio_embedding calls inside the run, timed by a wrapper",
        "prep_s": round(e2e_s - timers["decode_s"] - timers["model_s"], 3),
        "prep_note": "the rest: int16 quantisation + get_audio_features per clip",
        "rss_after_load_mib": _mib(rss_loaded),
        "peak_rss_e2e_mib": _mib(peak_e2e),
        "peak_rss_process_mib": _mib(max(peak_loading, _peak_kib())),
        "cuda_peak_alloc_e2e_mib": _cuda_peak_mib(torch, device),
        "torch_threads": torch.get_num_threads(),
    }


def worker_dedup(cfg: dict[str, Any]) -> dict[str, Any]:
    """``clapscore`` (dedup) against embedding every row's caption and clip (no dedup)."""
    torch, device = _setup_torch(cfg)
    from humanclap.audio import load_audio
    from humanclap.runtime import autocast, resolve_precision
    from humanclap.score import clapscore
    from humanclap.similarity import cosine_rows

    texts: list[str] = cfg["texts"]
    paths = [Path(p) for p in cfg["audio"]]
    n, batch = len(texts), int(cfg["batch_size"])
    model = _load_ours(cfg, device)
    precision = resolve_precision(cfg["precision"], device)
    clapscore(
        model,
        texts[:WARMUP_CLIPS],
        paths[:WARMUP_CLIPS],
        batch_size=batch,
        num_workers=int(cfg["num_workers"]),
        cache_dir=None,
        progress=False,
        precision=precision,
    )

    def with_dedup() -> tuple[np.ndarray, Any, float]:
        t0 = time.perf_counter()
        scores, info = clapscore(
            model,
            texts,
            paths,
            batch_size=batch,
            num_workers=int(cfg["num_workers"]),
            cache_dir=None,
            progress=False,
            precision=precision,
            return_info=True,
        )
        return scores, info, time.perf_counter() - t0

    def without_dedup() -> tuple[np.ndarray, float, float, float]:
        audio_s = text_s = 0.0
        out = []
        t0 = time.perf_counter()
        with torch.inference_mode(), autocast(device, precision):
            for start in range(0, n, batch):
                rows = slice(start, start + batch)
                t1 = time.perf_counter()
                clips = [torch.from_numpy(load_audio(p, model.sample_rate)) for p in paths[rows]]
                audio_emb = model.embed_audio(clips).float().cpu().numpy()
                t2 = time.perf_counter()
                text_emb = model.embed_text(texts[rows]).float().cpu().numpy()
                t3 = time.perf_counter()
                audio_s += t2 - t1
                text_s += t3 - t2
                out.append(cosine_rows(audio_emb, text_emb))
        return np.concatenate(out), time.perf_counter() - t0, audio_s, text_s

    dedup_times, baseline_times = [], []
    for _ in range(int(cfg["repeats"])):  # alternate, so a load change hits both alike
        scores, info, dedup_s = with_dedup()
        baseline_scores, no_dedup_s, audio_s, text_s = without_dedup()
        dedup_times.append(dedup_s)
        baseline_times.append((no_dedup_s, audio_s, text_s))
    dedup_s = min(dedup_times)
    no_dedup_s, audio_s, text_s = min(baseline_times)
    return {
        "precision": precision,
        "rows": n,
        "unique_captions": info.text.n_unique,
        "unique_clips": info.audio.n_unique,
        "dedup_s": round(dedup_s, 3),
        "dedup_note": "humanclap.score.clapscore(..., cache_dir=None): dedup only, no disk cache",
        "no_dedup_s": round(no_dedup_s, 3),
        "no_dedup_note": f"per chunk of {batch} rows: load_audio + model.embed_audio + "
        "model.embed_text under inference_mode, row-wise cosine",
        "no_dedup_audio_s": round(audio_s, 3),
        "no_dedup_text_s": round(text_s, 3),
        "audio_s_per_clip": round(audio_s / n, 4),
        "text_s_per_caption": round(text_s / n, 4),
        "speedup": round(no_dedup_s / dedup_s, 2),
        "repeats": len(dedup_times),
        "all_dedup_s": [round(x, 3) for x in dedup_times],
        "all_no_dedup_s": [round(x[0], 3) for x in baseline_times],
        "max_abs_score_diff": float(np.max(np.abs(scores - baseline_scores))),
        "torch_threads": torch.get_num_threads(),
    }


WORKERS = {
    "prepare": worker_prepare,
    "ours": worker_ours,
    "laion": worker_laion,
    "dedup": worker_dedup,
}


def _worker_main(role: str, cfg_path: str, out_path: str) -> None:
    cfg = json.loads(Path(cfg_path).read_text(encoding="utf-8"))
    result = WORKERS[role](cfg)
    _write_json(Path(out_path), result)


# ============================================================================= orchestration
def _run_worker(role: str, cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run one worker in a fresh subprocess; return its result plus wall time and load avg."""
    cfg_path, out_path = work / f"{role}-cfg.json", work / f"{role}-out.json"
    _write_json(cfg_path, cfg)
    env = {**os.environ, **_OFFLINE_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    load_before = _load_avg()
    print(f"[bench] {role} ... (load average {load_before})", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", role, str(cfg_path)]
    proc = subprocess.run([*cmd, str(out_path)], env=env, cwd=ROOT, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"[bench] worker {role!r} failed with exit status {proc.returncode}")
    result = json.loads(out_path.read_text(encoding="utf-8"))
    result["subprocess_wall_s"] = round(wall, 2)
    result["load_avg_before"] = load_before
    result["load_avg_after"] = _load_avg()
    return result


def _relate_counts(relate_dir: Path | None) -> dict[str, Any] | None:
    """Rows / unique captions / unique clips of RELATE's REL pair table, when its file is here."""
    if relate_dir is None or not (relate_dir / "scores" / "REL.csv").is_file():
        return None
    import pandas as pd

    path = relate_dir / "scores" / "REL.csv"
    ratings = pd.read_csv(path, usecols=["wavname", "text"])
    pairs = ratings.drop_duplicates(["wavname", "text"])
    return {
        "source": str(path),
        "pairs": len(pairs),
        "unique_captions": int(pairs["text"].nunique()),
        "unique_clips": int(pairs["wavname"].nunique()),
        "ratings": len(ratings),
    }


def _dedup_inputs(n_captions: int, seed: int) -> tuple[dict[str, Any], list[str], list[str]]:
    """The synthetic world's (caption, clip) pair table: description, captions, clip paths."""
    from humanclap.data import load_relate, pair_table
    from humanclap.data.synthetic import ensure_world

    world = ensure_world(seed=seed, n_captions=n_captions)
    pairs = pair_table(load_relate(world, categories=False, download=False, verify=False))
    texts = pairs["text"].astype(str).tolist()
    audio = [str(world / w.lstrip("/")) for w in pairs["wavname"]]
    about = {
        "data": f"synthetic world ensure_world(seed={seed}, n_captions={n_captions}): "
        "REL pair table (one row per clip/caption pair), 4 s 16 kHz mono WAV",
        "world": str(world),
    }
    return about, texts, audio


def _machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor()
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("laion_clap", "librosa", "soundfile", "soxr", "numpy"):
        try:
            from importlib.metadata import version

            versions[name] = version(name.replace("_", "-"))
        except Exception:  # noqa: BLE001 (report what is there)
            versions[name] = None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "gpu": gpu,
        "versions": versions,
    }


def _best(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run with the smallest ``key``, with its index among ``runs``."""
    index = min(range(len(runs)), key=lambda i: runs[i][key])
    return {**runs[index], "run_index": index}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else round(a / b, 3)


def _table(res: dict[str, Any]) -> str:
    cfg, ours, laion, cmp_ = res["config"], res["ours"], res["laion"], res["comparison"]
    lines = [
        f"embed benchmark: {cfg['model']} on {cfg['device']} ({res['machine']['cpu']}), "
        f"{cfg['threads']} torch threads, {cfg['n_clips']} clips "
        f"({cfg['min_seconds']:g}-{cfg['max_seconds']:g} s, {cfg['sample_rate'] // 1000} kHz "
        f"mono WAV), batch {cfg['batch_size']}, {cfg['num_workers']} decode workers, "
        f"best of {cfg['repeats']} run(s) per path",
        f"{'':28}{'humanclap':>12}{'laion_clap':>12}{'ours/laion':>12}",
        f"{'clips/s end to end':28}{ours['cold_clips_per_s']:>12.2f}{laion['clips_per_s']:>12.2f}"
        f"{cmp_['clips_per_s_ratio']:>12.2f}",
        f"{'seconds end to end':28}{ours['cold_s']:>12.2f}{laion['e2e_s']:>12.2f}",
        f"{'  decode+resample s':28}{ours['decode_s']:>12.2f}{laion['decode_s']:>12.2f}",
        f"{'  model s':28}{ours['model_s']:>12.2f}{laion['model_s']:>12.2f}",
        f"{'  laion prep s':28}{'':>12}{laion['prep_s']:>12.2f}",
        f"{'peak RSS of the call, MiB':28}{ours['peak_rss_e2e_mib'] or float('nan'):>12.0f}"
        f"{laion['peak_rss_e2e_mib'] or float('nan'):>12.0f}",
        f"{'peak RSS, whole process':28}{ours['peak_rss_process_mib']:>12.0f}"
        f"{laion['peak_rss_process_mib']:>12.0f}",
        "(ours end to end includes the one-time weight fingerprint: "
        f"{ours['fingerprint_s']:.2f} s)",
        f"warm re-run (same cache): {ours['warm_s']:.3f} s vs cold {ours['cold_s']:.2f} s = "
        f"{ours['warm_speedup']:.0f}x faster",
        f"identity: max |ours - laion| = {cmp_['max_abs_diff']:.2e} "
        f"({ours['precision']}; goal <= 1e-5)",
    ]
    dd = res.get("dedup")
    if dd:
        lines.append(
            f"dedup: clapscore on {dd['rows']} pairs ({dd['unique_captions']} unique captions, "
            f"{dd['unique_clips']} unique clips): {dd['dedup_s']:.2f} s vs no dedup "
            f"{dd['no_dedup_s']:.2f} s = {dd['speedup']:.2f}x"
        )
        est = dd.get("relate_estimate")
        if est:
            lines.append(
                f"  RELATE REL ({est['pairs']} pairs, {est['unique_captions']} captions, "
                f"{est['unique_clips']} clips) estimate: {est['speedup']:.2f}x"
            )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark humanclap.embed.embed_audio against laion_clap's "
        "get_audio_embedding_from_filelist (see the module docstring).",
    )
    parser.add_argument("--n-clips", type=int, default=32, help="clips to embed (default 32)")
    parser.add_argument("--batch-size", type=int, default=8, help="clips per model call (8)")
    parser.add_argument("--num-workers", type=int, default=2, help="humanclap decode threads (2)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: CPU count)"
    )
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--model", default="laion:random", help="a LAION-CLAP model spec")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16", "fp16"],
        help="humanclap's precision (auto: fp32 on CPU, bf16/fp16 autocast on CUDA)",
    )
    parser.add_argument("--sample-rate", type=int, default=16_000, help="WAV rate (16000)")
    parser.add_argument("--min-seconds", type=float, default=4.0)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated clips")
    parser.add_argument(
        "--dedup-captions",
        type=int,
        default=12,
        help="captions of the synthetic world for the dedup part (3 pairs each; 0 skips it)",
    )
    parser.add_argument(
        "--relate-dir",
        type=Path,
        default=None,
        help="RELATE ratings folder for the dedup estimate (default $HUMANCLAP_RELATE_DIR, "
        "else ../shared/relate beside the project)",
    )
    parser.add_argument(
        "--laion-no-grad",
        action="store_true",
        help="wrap laion's calls in torch.no_grad() (default: as its README calls them)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs of each path (fresh subprocesses, alternating); the fastest is reported (3)",
    )
    parser.add_argument("--tag", default=None, help="result file tag (default: host name)")
    parser.add_argument("--out", type=Path, default=None, help="result JSON path")
    args = parser.parse_args(argv)
    checks = [
        (args.n_clips >= WARMUP_CLIPS, f"--n-clips: expected >= {WARMUP_CLIPS}"),
        (args.batch_size >= 1, "--batch-size: expected >= 1"),
        (args.repeats >= 1, "--repeats: expected >= 1"),
        (args.num_workers >= 0, "--num-workers: expected >= 0"),
        (args.threads is None or args.threads >= 1, "--threads: expected >= 1"),
        (args.sample_rate >= 8000, "--sample-rate: expected >= 8000 Hz"),
        (0.5 <= args.min_seconds <= args.max_seconds, "--min-seconds: expected 0.5..max"),
        (
            args.max_seconds <= WINDOW_SECONDS,
            f"--max-seconds: clips over {WINDOW_SECONDS:g} s are cropped at random by laion "
            "(rand_trunc), so its embeddings would not be comparable",
        ),
        (
            args.dedup_captions == 0 or args.dedup_captions >= MIN_WORLD_CAPTIONS,
            f"--dedup-captions: expected 0 (skip) or >= {MIN_WORLD_CAPTIONS} (the synthetic "
            "world's minimum)",
        ),
        (args.device == "cuda" or args.precision in ("auto", "fp32"), "--precision: CPU is fp32"),
    ]
    for ok, message in checks:
        if not ok:
            parser.error(message)
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    sys.path.insert(0, str(ROOT))
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False here")
    threads = args.threads or os.cpu_count() or 1
    relate_dir = args.relate_dir or (
        Path(os.environ["HUMANCLAP_RELATE_DIR"])
        if os.environ.get("HUMANCLAP_RELATE_DIR")
        else ROOT.parent / "shared" / "relate"
    )
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    load_start = _load_avg()
    with tempfile.TemporaryDirectory(prefix="humanclap-bench-") as tmp:
        work = Path(tmp)
        clips = make_clips(
            work / "wav",
            args.n_clips,
            args.sample_rate,
            args.min_seconds,
            args.max_seconds,
            args.seed,
        )
        base = {
            "threads": threads,
            "device": args.device,
            "precision": args.precision,
            "batch_size": args.batch_size,
            "num_workers": args.num_workers,
            "checkpoint": str(work / "model-laion.pt"),
        }
        if args.dedup_captions:  # the world is built (and cached) before any timing
            about, texts, audio = _dedup_inputs(args.dedup_captions, 0)
        meta = _run_worker("prepare", {**base, "model": args.model}, work)
        paths = [str(p) for p, _ in clips]
        ours_runs, laion_runs = [], []
        for rep in range(args.repeats):  # alternate, so a load change hits both paths alike
            ours_cfg = {
                **base,
                "paths": paths,
                "cache_dir": str(work / f"cache{rep}"),
                "emb_out": str(work / f"ours{rep}.npy"),
            }
            ours_runs.append(_run_worker("ours", ours_cfg, work))
            laion_cfg = {
                **base,
                "paths": paths,
                "amodel": meta["amodel"],
                "fusion": meta["fusion"],
                "laion_no_grad": args.laion_no_grad,
                "emb_out": str(work / f"laion{rep}.npy"),
            }
            laion_runs.append(_run_worker("laion", laion_cfg, work))
        ours = _best(ours_runs, "cold_s")
        laion = _best(laion_runs, "e2e_s")
        ours_emb = [np.load(work / f"ours{r}.npy") for r in range(args.repeats)]
        laion_emb = [np.load(work / f"laion{r}.npy") for r in range(args.repeats)]
        max_diff = max(float(np.max(np.abs(a - b))) for a in ours_emb for b in laion_emb)
        mean_diff = float(np.mean(np.abs(ours_emb[0] - laion_emb[0])))
        dedup = None
        if args.dedup_captions:
            dedup_cfg = {**base, "texts": texts, "audio": audio, "repeats": args.repeats}
            dedup = {**about, **_run_worker("dedup", dedup_cfg, work)}
            counts = _relate_counts(relate_dir)
            if counts:
                a, t = dedup["audio_s_per_clip"], dedup["text_s_per_caption"]
                no_dedup = counts["pairs"] * (a + t)
                with_dedup = counts["unique_clips"] * a + counts["unique_captions"] * t
                dedup["relate_estimate"] = {
                    **counts,
                    "no_dedup_s": round(no_dedup, 1),
                    "dedup_s": round(with_dedup, 1),
                    "speedup": round(no_dedup / with_dedup, 2),
                    "note": "pairs * (a + t) vs unique_clips * a + unique_captions * t, with the "
                    "per-item audio (a) and text (t) costs of the no-dedup baseline above",
                }
        seconds = [s for _, s in clips]
        result = {
            "schema": SCHEMA,
            "started": started,
            "machine": _machine(),
            "load_avg": {"start": load_start, "end": _load_avg()},
            "config": {
                "model": args.model,
                "model_info": meta,
                "device": args.device,
                "precision_requested": args.precision,
                "threads": threads,
                "batch_size": args.batch_size,
                "num_workers": args.num_workers,
                "n_clips": args.n_clips,
                "sample_rate": args.sample_rate,
                "min_seconds": args.min_seconds,
                "max_seconds": args.max_seconds,
                "total_audio_seconds": round(sum(seconds), 2),
                "mean_seconds": round(float(np.mean(seconds)), 2),
                "seed": args.seed,
                "warmup_clips": WARMUP_CLIPS,
                "repeats": args.repeats,
                "best_of_repeats": "per path, the run with the shortest end-to-end time",
                "inputs": "generated tones + noise, mono PCM_16 WAV (see make_clips)",
            },
            "ours": ours,
            "laion": laion,
            "all_runs": {
                "ours_cold_s": [r["cold_s"] for r in ours_runs],
                "laion_e2e_s": [r["e2e_s"] for r in laion_runs],
            },
            "comparison": {
                "clips_per_s_ratio": _ratio(ours["cold_clips_per_s"], laion["clips_per_s"]),
                "max_abs_diff": max_diff,
                "max_abs_diff_note": "over all pairs of runs (every run is deterministic)",
                "mean_abs_diff": mean_diff,
                "max_abs_diff_goal": 1e-5 if ours["precision"] == "fp32" else None,
                "peak_rss_e2e_ratio": _ratio(ours["peak_rss_e2e_mib"], laion["peak_rss_e2e_mib"]),
                "warm_speedup_goal": 20,
            },
            "dedup": dedup,
        }
    tag = args.tag or socket.gethostname()
    out = args.out or RESULTS / f"embed-{args.device}-{tag}.json"
    _write_json(out, result)
    print(_table(result))
    print(f"[bench] wrote {out}")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        sys.path.insert(0, str(ROOT))
        _worker_main(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
