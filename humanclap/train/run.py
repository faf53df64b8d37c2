"""One fine-tuning run's mutable state: the model copy, its optimiser, the history, the best
epoch so far, and how they are saved to and restored from the run folder.

:func:`humanclap.train.finetune` creates a :class:`FinetuneRun`, trains it epoch by epoch and
returns :meth:`FinetuneRun.result`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from humanclap.models import ClapModel
from humanclap.train.loop import adamw
from humanclap.train.state import history_frame, rng_states, write_history, write_state
from humanclap.utils import atomic_torch_save

__all__ = ["FinetuneResult", "FinetuneRun"]


@dataclass
class FinetuneResult:
    """What :func:`humanclap.train.finetune` returns.

    Attributes
    ----------
    model : ClapModel
        A copy of the input model with the best epoch's weights, in eval mode.
    history : pd.DataFrame
        One row per evaluated epoch (0 = before training), columns
        :data:`humanclap.train.HISTORY_COLUMNS`. ``train_loss`` is the mean training loss over
        the epoch's batches (NaN for epoch 0); ``lr`` the learning rate of the epoch's last
        step; ``seconds`` its wall time.
    best_epoch : int
        Epoch with the highest validation SRCC (0 = the input model).
    best_val_srcc : float
    out_dir : Path or None
    stopped_early : bool
        True when training stopped after ``patience`` epochs without improvement.
    seconds : float
        Wall time of the :func:`~humanclap.train.finetune` call (about 0 when a finished run
        was read back from ``out_dir``).
    """

    model: ClapModel
    history: pd.DataFrame
    best_epoch: int
    best_val_srcc: float
    out_dir: Path | None
    stopped_early: bool
    seconds: float = 0.0


def _cpu_state(model: ClapModel, names: set[str] | None = None) -> dict[str, Tensor]:
    """CPU copies of the model's ``state_dict`` entries (those in ``names``, or all)."""
    return {
        k: v.detach().to("cpu").clone()
        for k, v in model.state_dict().items()
        if names is None or k in names
    }


@dataclass
class FinetuneRun:
    """The state of one run (what ``state.pt`` holds, with the run's arguments).

    Attributes
    ----------
    work : ClapModel
        The copy being trained.
    params : list of Parameter
        Its trainable parameters.
    mutable_names : set of str
        ``state_dict`` keys training can change (trainable parameters and buffers): what the
        best epoch's weights keep.
    optimizer, scaler, gen
        AdamW, the gradient scaler (enabled for fp16 only) and the shuffling generator.
    """

    work: ClapModel
    params: list[torch.nn.Parameter]
    mutable_names: set[str]
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    gen: torch.Generator
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(
        default_factory=lambda: {"epoch": -1, "val_srcc": math.nan, "weights": {}}
    )
    step: int = 0
    since_best: int = 0
    start_epoch: int = 0
    stopped: bool = False
    done: bool = False

    @classmethod
    def start(
        cls,
        model: ClapModel,
        trainable: str,
        lr: float,
        weight_decay: float,
        device: torch.device,
        precision: str,
        seed: int,
    ) -> FinetuneRun:
        """A fresh run on a deep copy of ``model`` (which is never modified)."""
        work = copy.deepcopy(model).to(device)
        params = work.trainable_parameters(trainable)
        if not params:
            raise ValueError(f"trainable={trainable!r}: selects no parameters of this model")
        trainable_names = {n for n, p in work.named_parameters() if p.requires_grad}
        return cls(
            work=work,
            params=params,
            mutable_names=trainable_names | {n for n, _ in work.named_buffers()},
            optimizer=adamw(params, lr, weight_decay),
            scaler=torch.amp.GradScaler(device.type, enabled=precision == "fp16"),
            gen=torch.Generator().manual_seed(int(seed)),
        )

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from a saved ``state.pt`` (the RNG states are restored by the caller)."""
        self.work.load_state_dict(state["model"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.history = [dict(r) for r in state["history"]]
        self.best = {
            "epoch": int(state["best"]["epoch"]),
            "val_srcc": float(state["best"]["val_srcc"]),
            "weights": dict(state["best"]["weights"]),
        }
        self.step, self.since_best = int(state["step"]), int(state["since_best"])
        self.start_epoch = int(state["epoch"]) + 1
        self.stopped, self.done = bool(state["stopped"]), bool(state["done"])

    def record(self, epoch: int, row: dict[str, Any], patience: int | None, last: int) -> bool:
        """Add an epoch's history row; keep its weights when its validation SRCC is the best.

        Returns
        -------
        bool
            Whether this epoch is the new best.
        """
        self.history.append(row)
        srcc = row["val_srcc"]
        best_srcc = self.best["val_srcc"]
        improved = self.best["epoch"] < 0 or (
            math.isfinite(srcc) and (not math.isfinite(best_srcc) or srcc > best_srcc)
        )
        if improved:
            weights = _cpu_state(self.work, self.mutable_names)
            self.best = {"epoch": epoch, "val_srcc": srcc, "weights": weights}
            self.since_best = 0
        elif epoch > 0:
            self.since_best += 1
        self.stopped = patience is not None and epoch < last and self.since_best >= patience
        self.done = self.stopped or epoch == last
        return improved

    def note(self, args: Mapping[str, Any], args_hash: str) -> dict[str, Any]:
        """What a fine-tuned model's ``provenance["finetune"]`` records (when it keeps one)."""
        return {
            "base_fingerprint": args["base_model"],
            "args_hash": args_hash,
            "loss": args["loss"],
            "best_epoch": int(self.best["epoch"]),
            "best_val_srcc": float(self.best["val_srcc"]),
        }

    def save(
        self,
        out_dir: Path,
        epoch: int,
        improved: bool,
        args: Mapping[str, Any],
        args_hash: str,
    ) -> None:
        """Write ``best.pt`` (when ``improved``), ``history.csv`` and ``state.pt``."""
        if improved:
            self.save_best(out_dir, args, args_hash)
        write_history(self.history, out_dir / "history.csv")
        device = self.work.device
        state = {
            "args_hash": args_hash,
            "args": dict(args),
            "epoch": epoch,
            "step": self.step,
            "since_best": self.since_best,
            "stopped": self.stopped,
            "done": self.done,
            "model": _cpu_state(self.work),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_states(self.gen, device),
            "history": self.history,
            "best": self.best,
        }
        write_state(state, out_dir / "state.pt")

    def save_best(self, out_dir: Path, args: Mapping[str, Any], args_hash: str) -> None:
        """``best.pt``: the model with the best epoch's weights (:meth:`ClapModel.save` format)."""
        ckpt = self.work.checkpoint()
        ckpt["state_dict"].update(self.best["weights"])
        provenance = ckpt["config"].get("provenance")
        if isinstance(provenance, dict):
            provenance["finetune"] = self.note(args, args_hash)
        atomic_torch_save(ckpt, out_dir / "best.pt")

    def result(
        self, out_dir: Path | None, args: Mapping[str, Any], args_hash: str, seconds: float
    ) -> FinetuneResult:
        """The best model (all parameters trainable again, eval mode) and the history."""
        self.work.load_state_dict(self.best["weights"], strict=False)
        self.work.trainable_parameters("all")
        self.work.eval()
        provenance = getattr(self.work, "provenance", None)
        if isinstance(provenance, dict):
            provenance["finetune"] = self.note(args, args_hash)
        return FinetuneResult(
            model=self.work,
            history=history_frame(self.history),
            best_epoch=int(self.best["epoch"]),
            best_val_srcc=float(self.best["val_srcc"]),
            out_dir=out_dir,
            stopped_early=bool(self.stopped),
            seconds=seconds,
        )
