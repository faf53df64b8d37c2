"""A study's runs as jobs of a submitit executor (SLURM jobs, or processes on this machine).

Each job is exactly :func:`humanclap.train.finetune` with its run's arguments, and writes to its
run folder as a run trained here does (``out_dir="auto"``: ``<cache>/finetunes/<hash of the
run's arguments>``, resolved by the submitting process, so a job writes where the caller reads
whatever its own environment says). Because runs resume from their folder, so do jobs:

- **preempted or timed out** (SLURM sends ``USR2`` before it stops a job): submitit calls the
  job's :meth:`FinetuneJob.checkpoint`, which returns the same run as a
  ``submitit.helpers.DelayedSubmission`` (submitit's checkpointing protocol, the one
  ``submitit.helpers.Checkpointable`` implements); submitit requeues it and the requeued job
  continues after the last epoch saved;
- **killed or cancelled**: asking for the runs again submits the unfinished ones only, and
  each continues from its folder.

Only runs that are not finished are submitted: a finished run (its folder's ``state.pt`` says
so) is read back here without starting anything (:func:`humanclap.train.plan.plan_run`). A job that ends returns
only its folder; the result is then read back from it by :func:`~humanclap.train.finetune` in
this process (a run without ``out_dir`` returns its whole result instead), so that the results
are those of the same runs trained here.

What a job is given: the model and the shared pairs tables are pickled **once** per call into
``<executor folder>/humanclap-inputs/<sha256>.pkl`` and read by every job (submitit would
otherwise pickle them into every job's file: 85 copies of a LAION-size model); each job's own
pickle (cloudpickle, by submitit) holds only its path, the run's keyword arguments (a run's own
``train_pairs`` / ``val_pairs`` among them) and the CPU settings. A job starts by applying the
CPU settings of :func:`humanclap.runtime.pinned_environ` (AVX2 kernels, one thread, the tuned
allocator) before any tensor operation, as the process pool's workers do, so that its weights
equal the same run's trained here; the jobs are also submitted inside ``pinned_environ``, so that
their processes start with them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from humanclap.models import ClapModel
from humanclap.runtime import cpu_pin_env, cpu_settings, pinned_environ, tune_cpu_allocator
from humanclap.train.finetune import finetune
from humanclap.train.plan import (
    RunPlan,
    describe_run,
    gather_results,
    plan_run,
    run_finished,
    split_run_pairs,
)
from humanclap.train.run import FinetuneResult
from humanclap.utils import atomic_write_bytes, sha256_bytes

__all__ = [
    "FinetuneJob",
    "RunDone",
    "executor_kind",
    "finetune_jobs",
    "submit_runs",
    "write_inputs",
]

log = logging.getLogger("humanclap.train")

#: Seconds between two looks at the running jobs when only some may run at once.
_POLL_SECONDS = 0.2


def executor_kind(executor: Any) -> str:
    """``"local"``, ``"slurm"``, ``"debug"`` ... for a submitit executor (an AutoExecutor's
    cluster)."""
    if not (callable(getattr(executor, "submit", None)) and hasattr(executor, "folder")):
        raise TypeError(
            f"executor: expected a submitit executor (submitit.AutoExecutor, LocalExecutor, "
            f"SlurmExecutor) or one of 'process', 'local', 'slurm', got {type(executor).__name__}"
        )
    return str(getattr(executor, "cluster", None) or type(executor).name())


# ----------------------------------------------------------------------------- the job
@dataclass(frozen=True)
class RunDone:
    """What a job returns for a run with a folder: the folder and the job's seconds."""

    out_dir: str
    seconds: float


def _start_job(cpu_env: Mapping[str, str], threads: int | None) -> None:
    """A job's process computes as the pool's workers do: the CPU settings (before any tensor
    operation), its threads and the allocator; its log goes to the job's stderr."""
    os.environ.update(cpu_env)
    if threads is not None:
        torch.set_num_threads(threads)
    tune_cpu_allocator()
    logger = logging.getLogger("humanclap")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    settings = cpu_settings()
    log.info("job CPU settings: %s (asked: %s)", settings, dict(cpu_env) or "this machine's")
    if cpu_env and not settings["pinned"]:
        warnings.warn(
            f"this job computes with {settings}, not the CPU settings asked for ({dict(cpu_env)}):"
            " its weights may differ from the same run trained in the submitting process",
            RuntimeWarning,
            stacklevel=2,
        )


@dataclass(frozen=True)
class FinetuneJob:
    """One run as a submitit job: ``finetune(model, train_pairs, val_pairs, **kwargs)``.

    A callable with a ``checkpoint`` method, which is what submitit's checkpointing protocol
    asks of a job (``submitit.helpers.Checkpointable`` is such a class; this one does not derive
    from it so that ``humanclap.train`` imports without submitit, the optional cluster extra).

    Attributes
    ----------
    inputs : str
        The file of ``(model, train_pairs, val_pairs)`` (:func:`write_inputs`).
    kwargs : dict
        The run's keyword arguments (``out_dir`` resolved to its folder).
    cpu_env : dict
        :func:`humanclap.runtime.cpu_pin_env` of the submitting process (empty: unpinned).
    threads : int or None
        torch threads (None: torch's default on the job's machine).
    args_hash : str or None
        The run's identity, where it has a folder.
    """

    inputs: str
    kwargs: dict[str, Any]
    cpu_env: dict[str, str]
    threads: int | None = None
    args_hash: str | None = None

    def __call__(self) -> FinetuneResult | RunDone:
        _start_job(self.cpu_env, self.threads)
        # Our own file, written by the submitting process (write_inputs), as submitit's pickles.
        with open(self.inputs, "rb") as handle:
            model, train_pairs, val_pairs = pickle.load(handle)
        train, val, rest = split_run_pairs(self.kwargs, train_pairs, val_pairs)
        result = finetune(model, train, val, **rest)
        if result.out_dir is None:
            return result
        return RunDone(str(result.out_dir), result.seconds)

    def checkpoint(self) -> Any:
        """The same run, to be requeued after a preemption or time-out: it resumes from its
        folder (``resume=False`` becomes True once the folder holds this run, so that a
        requeued run continues instead of starting again)."""
        from submitit.helpers import DelayedSubmission  # lazy: the optional cluster extra

        kwargs = self.kwargs
        if kwargs.get("resume", True) is False and self._saved():
            kwargs = {**kwargs, "resume": True}
        log.warning("run %s: checkpointed, to be requeued (it resumes from its folder)",
                    self.kwargs.get("out_dir"))  # fmt: skip
        return DelayedSubmission(dataclasses.replace(self, kwargs=kwargs))

    def _saved(self) -> bool:
        out_dir = self.kwargs.get("out_dir")
        if out_dir is None or self.args_hash is None:
            return False
        try:
            state = torch.load(Path(out_dir) / "state.pt", weights_only=True, mmap=True)
        except Exception:  # noqa: BLE001 -- nothing of this run saved yet
            return False
        return isinstance(state, dict) and state.get("args_hash") == self.args_hash


def write_inputs(
    folder: str | os.PathLike, model: ClapModel, train_pairs: pd.DataFrame, val_pairs: pd.DataFrame
) -> Path:
    """``(model, train_pairs, val_pairs)`` pickled once into
    ``<folder>/humanclap-inputs/<sha256>.pkl`` (kept when it is already there) for every job."""
    data = pickle.dumps((model, train_pairs, val_pairs), protocol=pickle.HIGHEST_PROTOCOL)
    path = Path(folder) / "humanclap-inputs" / f"{sha256_bytes(data)[:32]}.pkl"
    if not path.is_file():
        atomic_write_bytes(path, data)
    return path


# ----------------------------------------------------------------------------- submitting
def _job_calls(
    executor: Any,
    model: ClapModel,
    train_pairs: pd.DataFrame,
    val_pairs: pd.DataFrame,
    plans: Sequence[RunPlan],
    threads: int | None,
) -> list[FinetuneJob | None]:
    """A job per run to train (None: finished, or the same folder as an earlier run's)."""
    env = cpu_pin_env()
    threads = int(env["OMP_NUM_THREADS"]) if "OMP_NUM_THREADS" in env else threads
    calls: list[FinetuneJob | None] = []
    inputs, folders = None, set()
    for plan in plans:
        if plan.finished or (plan.run_dir is not None and plan.run_dir in folders):
            calls.append(None)
            continue
        if inputs is None:
            inputs = str(write_inputs(executor.folder, model, train_pairs, val_pairs))
        kwargs = dict(plan.kwargs)
        if plan.run_dir is not None:
            folders.add(plan.run_dir)
            kwargs["out_dir"] = str(plan.run_dir)
        calls.append(FinetuneJob(inputs, kwargs, env, threads, plan.args_hash))
    return calls


def _submit(executor: Any, calls: Sequence[FinetuneJob | None], max_running: int | None) -> list:
    """Submit the calls (as one job array, or at most ``max_running`` at once), inside
    :func:`~humanclap.runtime.pinned_environ` so that the jobs' processes start with it."""
    jobs: list[Any] = [None] * len(calls)
    todo = [i for i, call in enumerate(calls) if call is not None]
    if not todo:
        return jobs
    with pinned_environ():
        if max_running is None:
            with executor.batch():
                for i in todo:
                    jobs[i] = executor.submit(calls[i])
            return jobs
        running: list[Any] = []
        for i in todo:
            while len(running) >= max_running:
                running = [job for job in running if not job.done()]
                if len(running) >= max_running:
                    time.sleep(_POLL_SECONDS)
            jobs[i] = executor.submit(calls[i])
            running.append(jobs[i])
    return jobs


def submit_runs(
    executor: Any,
    model: ClapModel,
    train_pairs: pd.DataFrame,
    val_pairs: pd.DataFrame,
    runs: Sequence[Mapping[str, Any]],
) -> list[Any]:
    """Submit the runs that are not finished, as one job array, and return without waiting.

    Parameters
    ----------
    executor : submitit executor
    model, train_pairs, val_pairs, runs
        As for :func:`humanclap.train.finetune_many` (each run's complete keyword arguments).

    Returns
    -------
    list
        One submitit job per run, None for a finished run (or one whose folder an earlier run
        of the list trains). :func:`humanclap.train.finetune_many` with the same runs later
        reads the finished ones back and submits the rest again.
    """
    executor_kind(executor)
    plans = [plan_run(model, train_pairs, val_pairs, kwargs) for kwargs in runs]
    return _submit(executor, _job_calls(executor, model, train_pairs, val_pairs, plans, None), None)


def _outcomes(jobs: Sequence[Any], plans: Sequence[RunPlan]) -> list[Any]:
    """Every job's result (:func:`humanclap.train.plan.gather_results`), each failure named by
    its run and its job."""
    names = [
        f"run {i} ({describe_run(plan.kwargs)})" + ("" if job is None else f", job {job.job_id}")
        for i, (job, plan) in enumerate(zip(jobs, plans, strict=True))
    ]
    return gather_results(jobs, names)


def finetune_jobs(
    executor: Any,
    model: ClapModel,
    train_pairs: pd.DataFrame,
    val_pairs: pd.DataFrame,
    runs: Sequence[Mapping[str, Any]],
    *,
    max_running: int | None = None,
    threads: int | None = None,
) -> list[FinetuneResult]:
    """Train the runs through ``executor`` and return their results in order (what
    :func:`humanclap.train.finetune_many` does with ``executor=``).

    ``max_running``: jobs running at once (None: all, as one job array); ``threads``: torch
    threads of a job when the CPU settings are not pinned (None: the job machine's default).

    Raises
    ------
    Exception
        The first job that failed (submitit's ``FailedJobError`` with the job's traceback),
        after the others have ended, with a note per failed run.
    RuntimeError
        A job ended but its folder holds no finished run.
    """
    plans = [plan_run(model, train_pairs, val_pairs, kwargs) for kwargs in runs]
    calls = _job_calls(executor, model, train_pairs, val_pairs, plans, threads)
    submitted = sum(call is not None for call in calls)
    log.info("%d of %d runs submitted to submitit's %s executor (%s); %d finished, read back",
             submitted, len(plans), executor_kind(executor), executor.folder,
             sum(p.finished for p in plans))  # fmt: skip
    outcomes = _outcomes(_submit(executor, calls, max_running), plans)
    results = []
    for plan, outcome in zip(plans, outcomes, strict=True):
        if isinstance(outcome, FinetuneResult):
            results.append(outcome)
            continue
        if plan.run_dir is None or not run_finished(plan.run_dir, plan.args or {}, plan.args_hash):
            raise RuntimeError(f"run ({describe_run(plan.kwargs)}): its job ended, but "
                               f"{plan.run_dir} holds no finished run")  # fmt: skip
        train, val, rest = split_run_pairs(plan.kwargs, train_pairs, val_pairs)
        result = finetune(model, train, val, **{**rest, "resume": True})  # read back
        if isinstance(outcome, RunDone):
            result = dataclasses.replace(result, seconds=outcome.seconds)
        results.append(result)
    return results
