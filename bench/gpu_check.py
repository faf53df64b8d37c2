"""One command that checks humanclap on a GPU (about 8 minutes) and writes one JSON file.

Usage::

    python bench/gpu_check.py                          # on a machine with one CUDA GPU
    python bench/gpu_check.py --device cpu --quick --no-bench   # the same steps on the CPU

Steps, each timed, each recorded even when it fails (the exit status is 1 if any failed):

1. **environment**: torch, CUDA and GPU name, bf16 support, humanclap's version.
2. **embedding**: ``laion:random`` and ``hf:random`` embed the same clips (3-14 s) and captions
   on the CPU in fp32 and on the device in fp32, bf16 and fp16 (``humanclap.embed`` with
   ``precision=``). Each device result is compared with the CPU one: the smallest cosine between
   a row and its CPU counterpart must reach :data:`MIN_COSINE` for its precision (fp32 is not
   bit-exact on a GPU: cuDNN may use TF32 for convolutions).
3. **fine-tuning**: ``humanclap.train.finetune`` on generated clips with ``precision="auto"``
   (bf16 or fp16 autocast on CUDA), once straight through and once killed after epoch 1 (an
   exception from the callback) and resumed from its folder. The resumed run must finish from
   epoch 2 and agree with the straight one within :data:`RESUME_TOLERANCE` in validation SRCC
   (CUDA kernels are not all deterministic, so bit-equality is not required on a GPU).
4. **benchmarks**: ``bench/embed.py`` and ``bench/finetune.py`` on the device, short settings,
   each in a subprocess with a time limit; their JSON is included.

The result is ``bench/results/gpu-check-<device>.json`` (or ``--out``), written atomically.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
import torch

import humanclap
from humanclap import models, train
from humanclap.embed import embed_audio, embed_text
from humanclap.models.hf import small_config
from humanclap.utils import atomic_write_text

HERE = Path(__file__).resolve().parent
#: Smallest cosine between a device embedding and the CPU fp32 one, per precision.
MIN_COSINE = {"fp32": 0.9999, "bf16": 0.99, "fp16": 0.995}
#: Largest difference of a validation SRCC between the resumed and the straight run.
RESUME_TOLERANCE = 0.02
CAPTIONS = [
    "a dog barks twice while a car passes",
    "rain falls on a tin roof",
    "a woman speaks and then a bell rings",
    "birds chirp in the distance",
    "an engine idles loudly",
    "a crowd applauds after music",
]


class _Killed(RuntimeError):
    """Raised by the callback to simulate a killed run."""


def _step(report: dict[str, Any], name: str, fn: Callable[[], dict[str, Any]]) -> None:
    start = time.perf_counter()
    try:
        result = fn()
        result.setdefault("passed", True)
    except Exception as err:  # noqa: BLE001 - every failure is recorded, the next step runs
        result = {"passed": False, "error": f"{type(err).__name__}: {err}",
                  "traceback": traceback.format_exc(limit=8)}  # fmt: skip
    result["seconds"] = round(time.perf_counter() - start, 2)
    report["steps"][name] = result
    print(f"[gpu_check] {name}: {'ok' if result['passed'] else 'FAILED'} "
          f"({result['seconds']:.1f} s)", flush=True)  # fmt: skip


def environment(device: torch.device) -> dict[str, Any]:
    out: dict[str, Any] = {
        "humanclap": humanclap.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cuda_available": torch.cuda.is_available(),
        "device": str(device),
    }
    if device.type == "cuda":
        out.update(
            gpu=torch.cuda.get_device_name(device),
            capability=".".join(map(str, torch.cuda.get_device_capability(device))),
            bf16_supported=torch.cuda.is_bf16_supported(),
            cuda=torch.version.cuda,
            memory_gib=round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1),
        )
    return out


def _clips(sample_rate: int, seconds: list[float], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for s in seconds:
        t = np.arange(int(s * sample_rate)) / sample_rate
        tone = np.sin(2 * np.pi * rng.uniform(100, 2000) * t) * (0.5 + 0.5 * np.sin(t))
        out.append((0.3 * tone + 0.05 * rng.standard_normal(t.size)).astype(np.float32))
    return out


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cos.min())


def embedding(spec: str, device: torch.device, quick: bool) -> dict[str, Any]:
    options = {"config": small_config()} if spec.startswith("hf") and quick else {}
    cpu = models.load(spec, **options)
    clips = _clips(cpu.sample_rate, [3.0, 5.5, 10.0, 14.0] if quick else [3, 5.5, 7, 10, 12, 14])
    kw = {"cache_dir": None, "progress": False}
    ref_a = embed_audio(cpu, clips, precision="fp32", **kw)
    ref_t = embed_text(cpu, CAPTIONS, precision="fp32", **kw)
    on_device = cpu.to(device)
    rows, passed = {}, True
    precisions = ["fp32", "bf16", "fp16"] if device.type == "cuda" else ["fp32"]
    for precision in precisions:
        start = time.perf_counter()
        audio = embed_audio(on_device, clips, precision=precision, **kw)
        text = embed_text(on_device, CAPTIONS, precision=precision, **kw)
        cos = min(_min_cosine(audio, ref_a), _min_cosine(text, ref_t))
        ok = bool(
            np.isfinite(audio).all() and np.isfinite(text).all() and cos >= MIN_COSINE[precision]
        )
        passed &= ok
        rows[precision] = {
            "min_cosine_vs_cpu": round(cos, 6),
            "max_abs_diff_vs_cpu": float(max(np.abs(audio - ref_a).max(), np.abs(text - ref_t).max())),
            "threshold": MIN_COSINE[precision],
            "passed": ok,
            "seconds": round(time.perf_counter() - start, 2),
        }  # fmt: skip
    return {"spec": spec, "fingerprint": cpu.fingerprint, "precisions": rows, "passed": passed}


def _pairs(folder: Path, sample_rate: int, n: int) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(1)
    for i, clip in enumerate(_clips(sample_rate, list(rng.uniform(2.0, 6.0, n)), seed=2)):
        path = folder / f"clip{i:02d}.wav"
        sf.write(path, clip, sample_rate)
        rows.append({"audio": str(path), "text": CAPTIONS[i % len(CAPTIONS)] + f" {i}",
                     "target": float(rng.uniform())})  # fmt: skip
    return pd.DataFrame(rows)


def finetuning(device: torch.device, quick: bool, folder: Path) -> dict[str, Any]:
    spec = "tiny:random" if quick else "laion:random"
    base = models.load(spec)
    pairs = _pairs(folder, base.sample_rate, 24 if quick else 48)
    tr, va = pairs.iloc[: len(pairs) * 2 // 3], pairs.iloc[len(pairs) * 2 // 3 :]
    kw = {"num_epochs": 3, "batch_size": 8, "lr": 1e-4, "patience": None, "device": device,
          "precision": "auto", "progress": False}  # fmt: skip

    def kill_after_first(epoch: int, row: dict[str, Any]) -> None:
        if epoch == 1:
            raise _Killed("killed after epoch 1")

    straight = train.finetune(base, tr, va, out_dir=folder / "straight", **kw)
    try:
        train.finetune(base, tr, va, out_dir=folder / "killed", callback=kill_after_first, **kw)
        raise RuntimeError("the callback did not stop the run")
    except _Killed:
        pass
    epochs_after: list[int] = []
    resumed = train.finetune(base, tr, va, out_dir=folder / "killed",
                             callback=lambda e, r: epochs_after.append(e), **kw)  # fmt: skip
    diff = (straight.history["val_srcc"] - resumed.history["val_srcc"]).abs().max()
    passed = epochs_after == [2, 3] and bool(diff <= RESUME_TOLERANCE) and math.isfinite(diff)
    return {
        "spec": spec,
        "epochs_run_after_resume": epochs_after,
        "val_srcc_straight": straight.history["val_srcc"].round(4).tolist(),
        "val_srcc_resumed": resumed.history["val_srcc"].round(4).tolist(),
        "max_val_srcc_difference": float(diff),
        "tolerance": RESUME_TOLERANCE,
        "passed": passed,
    }


def bench(script: str, args: list[str], out: Path, timeout: int) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE / script), *args, "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    result: dict[str, Any] = {"command": " ".join(cmd[1:]), "returncode": done.returncode}
    if done.returncode != 0:
        result.update(passed=False, stderr=done.stderr[-3000:])
    elif out.is_file():
        result["result"] = json.loads(out.read_text())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="torch device (default: cuda)")
    parser.add_argument("--quick", action="store_true", help="small models and inputs")
    parser.add_argument("--no-bench", action="store_true", help="skip step 4 (benchmarks)")
    parser.add_argument("--bench-timeout", type=int, default=150, help="seconds per benchmark")
    parser.add_argument("--out", type=Path, default=None, help="result JSON path")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available here (use --device cpu for a dry run)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report: dict[str, Any] = {"benchmark": "gpu_check", "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                              "args": vars(args) | {"out": str(args.out)}, "steps": {}}  # fmt: skip
    _step(report, "environment", lambda: environment(device))
    for spec in ("laion:random", "hf:random"):
        _step(report, f"embedding {spec}", lambda spec=spec: embedding(spec, device, args.quick))
    with tempfile.TemporaryDirectory(prefix="humanclap-gpu-check-") as tmp:
        _step(report, "fine-tuning with resume", lambda: finetuning(device, args.quick, Path(tmp)))
        if not args.no_bench:
            dev = device.type
            _step(report, "bench/embed.py", lambda: bench(
                "embed.py", ["--device", dev, "--repeats", "1", "--dedup-captions", "0"],
                Path(tmp) / "embed.json", args.bench_timeout))  # fmt: skip
            _step(report, "bench/finetune.py", lambda: bench(
                "finetune.py", ["--device", dev, "--batch-size", "32" if dev == "cuda" else "4",
                                "--steps", "3"], Path(tmp) / "finetune.json", args.bench_timeout))  # fmt: skip
    report["passed"] = all(step["passed"] for step in report["steps"].values())
    out = args.out or HERE / "results" / f"gpu-check-{device.type}.json"
    atomic_write_text(out, json.dumps(report, indent=2, default=str))
    print(f"[gpu_check] {'all passed' if report['passed'] else 'SOME FAILED'}; wrote {out}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
