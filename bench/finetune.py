"""Benchmark: one Human-CLAP fine-tuning step of the LAION-CLAP architecture.

What is measured (``python bench/finetune.py --help`` for the options)
---------------------------------------------------------------------
For a model from :func:`humanclap.models.load` (default ``laion:random``: HTSAT-tiny + RoBERTa,
random weights, built offline) and a batch of ``--batch-size`` pairs of 10 s clips at the model's
rate with real captions, one optimiser step is exactly what :func:`humanclap.train.finetune` does
per batch: ``embed_audio`` and ``embed_text`` in train mode, the ``wsce+mae`` loss of
:func:`humanclap.losses.combined` with the false-negative mask, ``backward``, gradient clipping
and an AdamW step over ``model.trainable_parameters(trainable)``.

For each configuration (``trainable`` in all / projections, and on CUDA mixed precision bf16 vs
fp32), after ``--warmup`` untimed steps, ``--steps`` timed steps give the median step time,
pairs/s, and peak memory (CUDA: ``torch.cuda.max_memory_allocated``; CPU: the process's peak
RSS, which only grows, so CPU configurations are run in separate subprocesses). A forward-only
step (``inference_mode``) is timed too, to estimate validation. The JSON also extrapolates the
time of one epoch on RELATE's train split (2,864 pairs) plus validating its 1,299 validation
pairs (``ceil(N / B)`` steps each); on CPU this is an estimate, not a run.

Decoding is excluded (the clips are synthesised in memory): the trainer preloads audio when it
fits in 2 GB and otherwise decodes one batch ahead in threads (see ``bench/embed.py`` for
decoding costs).

Usage::

    HF_HUB_OFFLINE=1 python bench/finetune.py                       # CPU, batch 8
    python bench/finetune.py --device cuda --batch-size 32          # GPU
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

RELATE_TRAIN_PAIRS = 2864
RELATE_VAL_PAIRS = 1299
CAPTIONS = [
    "A dog barks twice followed by a man speaking",
    "Rain falls on a roof while thunder rumbles in the distance",
    "A car engine revs and then accelerates away",
    "Birds chirp as wind blows through trees",
    "A woman laughs and a baby cries",
    "Piano music plays while people talk quietly",
    "A siren wails followed by a horn honking",
    "Water flows in a stream with frogs croaking",
]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_config(
    spec: str,
    device_name: str,
    batch_size: int,
    trainable: str,
    precision: str,
    steps: int,
    warmup: int,
    threads: int | None,
) -> dict:
    """Time ``steps`` optimiser steps of one configuration (in this process)."""
    import numpy as np
    import torch

    from humanclap import losses, models
    from humanclap.runtime import autocast, resolve_precision

    if threads:
        torch.set_num_threads(threads)
    device = torch.device(device_name)
    t0 = time.perf_counter()
    model = models.load(spec, device=device)
    build_s = time.perf_counter() - t0
    params = model.trainable_parameters(trainable)
    n_trainable = sum(p.numel() for p in params)
    n_total = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.01)
    mode = resolve_precision(precision, device)
    scaler = torch.amp.GradScaler("cuda") if mode == "fp16" else None
    rng = np.random.default_rng(0)
    n = int(model.sample_rate * 10)
    audio = [
        torch.from_numpy(rng.standard_normal(n).astype(np.float32) * 0.1) for _ in range(batch_size)
    ]
    texts = [CAPTIONS[i % len(CAPTIONS)] + f" ({i})" for i in range(batch_size)]
    target = torch.from_numpy(rng.uniform(0, 1, batch_size).astype(np.float32)).to(device)
    mask = losses.false_negative_mask([f"clip{i}" for i in range(batch_size)], texts).to(device)
    model.train()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        with autocast(device, mode):
            audio_emb = model.embed_audio(audio)
            text_emb = model.embed_text(texts)
        loss = losses.combined(
            "wsce+mae",
            audio_emb.float(),
            text_emb.float(),
            target,
            model.logit_scale.float(),
            mask=mask,
        )
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        return float(loss)

    times = []
    for i in range(warmup + steps):
        _sync(device)
        t = time.perf_counter()
        step()
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t)
    model.eval()
    fwd = []
    with torch.inference_mode():
        for i in range(max(2, steps // 2) + 1):
            _sync(device)
            t = time.perf_counter()
            with autocast(device, mode):
                model.embed_audio(audio)
                model.embed_text(texts)
            _sync(device)
            if i > 0:
                fwd.append(time.perf_counter() - t)
    step_s = statistics.median(times)
    fwd_s = statistics.median(fwd)
    epoch_s = (
        math.ceil(RELATE_TRAIN_PAIRS / batch_size) * step_s
        + math.ceil(RELATE_VAL_PAIRS / batch_size) * fwd_s
    )
    out = {
        "spec": spec,
        "device": device_name,
        "batch_size": batch_size,
        "trainable": trainable,
        "precision": mode,
        "threads": torch.get_num_threads(),
        "params_total": n_total,
        "params_trainable": n_trainable,
        "build_s": round(build_s, 2),
        "steps_timed": steps,
        "step_s_median": round(step_s, 4),
        "step_s_all": [round(t, 4) for t in times],
        "pairs_per_s": round(batch_size / step_s, 3),
        "forward_step_s_median": round(fwd_s, 4),
        "relate_epoch_estimate_s": round(epoch_s, 1),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
    }
    if device.type == "cuda":
        out["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        out["gpu"] = torch.cuda.get_device_name(device)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="laion:random")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="JSON path (default bench/results/...)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one config
    args = parser.parse_args(argv)

    if args.one:
        trainable, precision = args.one.split(",")
        print(
            json.dumps(
                run_config(
                    args.model,
                    args.device,
                    args.batch_size,
                    trainable,
                    precision,
                    args.steps,
                    args.warmup,
                    args.threads,
                )
            )
        )
        return 0

    configs = [("all", "fp32"), ("projections", "fp32")]
    if args.device.startswith("cuda"):
        configs = [("all", "fp32"), ("all", "bf16"), ("projections", "bf16")]
    results = []
    for trainable, precision in configs:
        cmd = [
            sys.executable,
            __file__,
            "--model",
            args.model,
            "--device",
            args.device,
            "--batch-size",
            str(args.batch_size),
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
            "--one",
            f"{trainable},{precision}",
        ]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        row = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(row)
        print(
            f"{trainable:12s} {row['precision']:5s}  step {row['step_s_median']:.3f} s  "
            f"{row['pairs_per_s']:.2f} pairs/s  forward {row['forward_step_s_median']:.3f} s  "
            f"RELATE epoch ~{row['relate_epoch_estimate_s'] / 60:.1f} min  "
            f"peak RSS {row['peak_rss_mib']:.0f} MiB"
            + (f"  peak CUDA {row['peak_cuda_mib']:.0f} MiB" if "peak_cuda_mib" in row else "")
        )
    base = results[0]
    report = {
        "benchmark": "finetune",
        "machine": {
            "host": socket.gethostname(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "configs": results,
        "ratios_vs_first": {
            f"{r['trainable']}/{r['precision']}": round(
                base["step_s_median"] / r["step_s_median"], 3
            )
            for r in results
        },
    }
    out = Path(
        args.out or Path(__file__).parent / "results" / f"finetune-{args.device.split(':')[0]}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
