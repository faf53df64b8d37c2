"""Result tables of heavy runs, which chapters read instead of computing.

The real study (RELATE's audio, LAION-CLAP or Human-CLAP weights, a GPU) cannot run on the
machines that build the book. So ``make relate`` runs the heavy chapters on a GPU with the
parameter ``results_dir`` set (``results/relate``): each chapter writes what took the GPU time
(per-pair scores, fine-tuning histories, run summaries) there as small CSV tables, each with a
JSON sidecar of provenance (model spec and fingerprint, the checkpoint's sha256, seeds, package
versions, the GPU). Any later build with those tables present and the same ``results_dir``
reads them: the real chapters then rebuild on a CPU without audio, weights or GPU, as
QuantEcon's lectures keep heavy computation out of the book build.

Every table is written atomically as soon as it is complete, so a killed run resumes where it
stopped (fine-tuning runs resume from their own folders, :func:`humanclap.train.finetune`).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from humanclap.models import ClapModel
from humanclap.score import clapscore
from humanclap.train import FinetuneResult
from humanclap.utils import atomic_write_csv, atomic_write_text, package_versions, sha256_file

__all__ = [
    "PACKAGES",
    "PAIR_KEY",
    "ResultTables",
    "provenance",
    "results_folder",
    "run_histories",
    "run_summary",
    "score_table",
    "scores_from_table",
    "scores_table",
]

#: Packages whose versions every table records.
PACKAGES: tuple[str, ...] = (
    "humanclap", "torch", "transformers", "laion_clap", "numpy", "pandas", "scipy",
)  # fmt: skip


def _checkpoint_sha256(spec: str) -> str | None:
    """The sha256 of the file a model spec names, when it names one."""
    path = Path(spec.split(":", 1)[1] if ":" in spec and not Path(spec).exists() else spec)
    return sha256_file(path) if path.is_file() else None


def provenance(
    model: ClapModel | None = None,
    seeds: Sequence[int] | None = None,
    device: str | torch.device | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Where a result comes from: model, checkpoint, seeds, packages, machine and GPU.

    Parameters
    ----------
    model : ClapModel, optional
        Its spec, backend and fingerprint, and the sha256 of its checkpoint file when the spec
        names one.
    seeds : sequence of int, optional
    device : str or torch.device, optional
        With a CUDA device, the GPU's name is recorded.
    **extra
        Anything else to record (the chapter's parameters ...).

    Returns
    -------
    dict
        JSON-serialisable.
    """
    out: dict[str, Any] = {
        "written": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "packages": package_versions(PACKAGES),
        "python": platform.python_version(),
        "host": platform.node(),
    }
    if model is not None:
        out["model"] = {
            "spec": model.spec,
            "backend": model.backend,
            "fingerprint": model.fingerprint,
            "checkpoint_sha256": _checkpoint_sha256(str(model.spec)),
        }
    if seeds is not None:
        out["seeds"] = [int(s) for s in seeds]
    if device is not None:
        device = torch.device(device)
        out["device"] = str(device)
        if device.type == "cuda" and torch.cuda.is_available():
            out["gpu"] = torch.cuda.get_device_name(device)
    out.update(extra)
    return json.loads(json.dumps(out, default=str))


@dataclass(frozen=True)
class ResultTables:
    """The result tables of one chapter in ``folder`` (None: none are read or written).

    A table ``name`` is ``<folder>/<prefix><name>.csv`` with its provenance in
    ``<prefix><name>.json``.
    """

    folder: Path | None
    prefix: str = ""

    def path(self, name: str, suffix: str = ".csv") -> Path:
        if self.folder is None:
            raise ValueError("no results_dir: result tables are neither read nor written")
        return Path(self.folder) / f"{self.prefix}{name}{suffix}"

    def has(self, *names: str) -> bool:
        """Whether every named table (and its provenance) exists."""
        return self.folder is not None and all(
            self.path(n).is_file() and self.path(n, ".json").is_file() for n in names
        )

    def read(self, name: str) -> pd.DataFrame:
        """A table, its provenance in ``.attrs["provenance"]`` (text columns stay text)."""
        frame = pd.read_csv(self.path(name), keep_default_na=False, na_values=[""])
        frame.attrs["provenance"] = json.loads(self.path(name, ".json").read_text())
        return frame

    def write(self, name: str, frame: pd.DataFrame, about: dict[str, Any]) -> pd.DataFrame:
        """Write a table and its provenance atomically; return ``frame``."""
        atomic_write_csv(frame, self.path(name), index=False)
        atomic_write_text(self.path(name, ".json"), json.dumps(about, indent=2, default=str))
        return frame

    def get(
        self, name: str, compute: Callable[[], pd.DataFrame], about: Callable[[], dict[str, Any]]
    ) -> pd.DataFrame:
        """The table: read when present, else computed (and written when there is a folder)."""
        if self.has(name):
            return self.read(name)
        frame = compute()
        if self.folder is not None:
            self.write(name, frame, about())
        return frame


# ----------------------------------------------------------------------------- table contents
#: Columns that key a pair in every result table.
PAIR_KEY: tuple[str, str] = ("wavname", "text")


def score_table(model: ClapModel, pairs: pd.DataFrame, column: str, **kw: Any) -> pd.DataFrame:
    """``wavname``, ``text`` and the model's CLAPScore of each pair (``column``).

    ``kw`` go to :func:`humanclap.score.clapscore` (``batch_size`` ...).
    """
    scores = clapscore(model, pairs["text"], pairs["audio"], progress=False, **kw)
    return pairs[list(PAIR_KEY)].assign(**{column: scores}).reset_index(drop=True)


def scores_table(
    pairs: pd.DataFrame, scores: Mapping[str, np.ndarray], seeds: Sequence[int]
) -> pd.DataFrame:
    """Per-pair scores of several models as one table: ``wavname``, ``text``, then a column
    ``name`` for a model given an array of shape (N,), or one column ``"<name> | seed <s>"``
    per seed for an array of shape (n_seeds, N)."""
    out = pairs[list(PAIR_KEY)].reset_index(drop=True).copy()
    for name, values in scores.items():
        values = np.asarray(values)
        if values.ndim == 1:
            out[name] = values
            continue
        for seed, row in zip(seeds, values, strict=True):
            out[f"{name} | seed {seed}"] = row
    return out


def scores_from_table(
    table: pd.DataFrame, pairs: pd.DataFrame, names: Sequence[str], seeds: Sequence[int]
) -> dict[str, np.ndarray]:
    """The inverse of :func:`scores_table`, aligned with ``pairs`` (checked): ``{name: array of
    shape (n_seeds, N)}``, or (N,) for a model stored without seeds."""
    merged = pairs[list(PAIR_KEY)].merge(table, on=list(PAIR_KEY), how="left", validate="1:1")
    out = {}
    for name in names:
        if name in merged.columns:
            out[name] = merged[name].to_numpy()
        else:
            out[name] = np.stack([merged[f"{name} | seed {s}"].to_numpy() for s in seeds])
    if any(np.isnan(v).any() for v in out.values()):
        raise ValueError("result table: some pairs have no score (a table of other pairs?)")
    return out


def run_summary(runs: Mapping[str, Sequence[FinetuneResult]], seeds: Sequence[int]) -> pd.DataFrame:
    """One row per fine-tuning run: ``name``, ``seed``, ``best_epoch``, ``best_val_srcc``,
    ``stopped_early``, ``seconds``, ``out_dir``."""
    rows = [
        {
            "name": name,
            "seed": seed,
            "best_epoch": r.best_epoch,
            "best_val_srcc": r.best_val_srcc,
            "stopped_early": r.stopped_early,
            "seconds": r.seconds,
            "out_dir": str(r.out_dir),
        }
        for name, results in runs.items()
        for seed, r in zip(seeds, results, strict=True)
    ]
    return pd.DataFrame(rows)


def run_histories(
    runs: Mapping[str, Sequence[FinetuneResult]], seeds: Sequence[int]
) -> pd.DataFrame:
    """Every run's history (:data:`humanclap.train.HISTORY_COLUMNS`) with ``name`` and
    ``seed``."""
    frames = [
        r.history.assign(name=name, seed=seed)
        for name, results in runs.items()
        for seed, r in zip(seeds, results, strict=True)
    ]
    return pd.concat(frames, ignore_index=True)


def results_folder(value: str | os.PathLike | None) -> Path | None:
    """``results_dir`` as a path (None stays None; a relative path is kept relative)."""
    return None if value in (None, "") else Path(value).expanduser()
