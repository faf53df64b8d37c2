"""Many fine-tuning runs side by side: one process per CPU core.

A study trains one model many times (recipes x seeds), and the runs are independent. On a CPU a
small model's training step does not keep two cores busy: many of its operations are too small
for torch's intra-op threads to split well (a tiny CLAP run is about 1.4x faster on two
threads than on one, not 2x). :func:`finetune_many` therefore trains the runs in ``workers``
separate processes, one thread each on a CPU, with glibc's allocator set to keep the step's
large activations in the heap (:func:`humanclap.runtime.tune_cpu_allocator`), and returns their
results in the order asked; on a GPU the runs go one after another in this process. Each run is
exactly :func:`humanclap.train.finetune` with its own arguments, so a run trained here and one
trained alone (on one thread) give the same weights, and ``out_dir="auto"`` runs are saved,
resumed and read back as usual.

Processes are started with ``spawn`` (a forked child of a process that has run torch's thread
pool can deadlock); each imports torch and humanclap once (a few seconds) and computes its own
cache of front-end features (:mod:`humanclap.train.features`). They start with the CPU settings
of :func:`humanclap.runtime.pinned_environ` (AVX2 kernels, one thread), so that a run gives
the same weights on every x86-64 CPU with AVX2 and for any number of cores
(``HUMANCLAP_PIN_CPU=0``: this machine's kernels, and the cores shared out among the workers).

Beyond one machine, ``executor=`` hands the runs to a submitit executor instead: SLURM jobs or
local processes, one job per run (:mod:`humanclap.train.jobs`; built by name with
:func:`humanclap.train.executor.make_executor`). Only unfinished runs are submitted, each job
resumes from its run folder after a preemption or a kill, and the results are read back from
the run folders, equal to the same runs trained here.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pandas as pd
import torch

from humanclap.models import ClapModel
from humanclap.runtime import pinned_environ, tune_cpu_allocator
from humanclap.train.executor import make_executor
from humanclap.train.finetune import finetune
from humanclap.train.jobs import executor_kind, finetune_jobs
from humanclap.train.plan import describe_run, gather_results, split_run_pairs
from humanclap.train.run import FinetuneResult

__all__ = ["finetune_many", "resolve_workers", "worker_pool"]

log = logging.getLogger("humanclap.train")

# What a worker process trains from: set once per process by _start_worker.
_WORKER: dict[str, Any] = {}


def available_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


#: ``workers="auto"`` trains in parallel only models up to this many parameters (each worker
#: holds its own copy, optimiser state and activations: a LAION-size model on a CPU would need
#: several GB per worker for little gain, since its steps are large enough to use the threads).
AUTO_MAX_PARAMETERS = 20_000_000
#: ... and with at most this many workers.
AUTO_MAX_WORKERS = 8


def resolve_workers(
    workers: int | str, device: torch.device, num_runs: int, num_parameters: int = 0
) -> int:
    """How many processes train ``num_runs`` runs of a model on ``device``.

    Parameters
    ----------
    workers : int or "auto"
        ``"auto"``: on a CPU, one per available core (at most :data:`AUTO_MAX_WORKERS`) for a
        model of at most :data:`AUTO_MAX_PARAMETERS` parameters, else 1; 1 (this process) on
        any other device. An int >= 1 is taken as given on a CPU; on a GPU only 1 is accepted.
    device : torch.device
    num_runs : int
    num_parameters : int
        The model's parameter count.

    Returns
    -------
    int
        At least 1 and at most ``num_runs`` (1 when there is nothing to share).
    """
    if workers == "auto":
        small = num_parameters <= AUTO_MAX_PARAMETERS
        cpu = device.type == "cpu"
        wanted = min(available_cpus(), AUTO_MAX_WORKERS) if cpu and small else 1
    elif isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1:
        wanted = workers
    else:
        raise ValueError(f"workers: expected an int >= 1 or 'auto', got {workers!r}")
    if wanted > 1 and device.type != "cpu":
        raise ValueError(
            f"workers={workers!r}: parallel runs are for the CPU; on {device} runs go one after "
            "another (use workers=1 or 'auto')"
        )
    return max(1, min(wanted, num_runs))


def _start_worker(
    model: ClapModel, train_pairs: pd.DataFrame, val_pairs: pd.DataFrame, threads: int
) -> None:
    """Initialiser of a worker process: its allocator, its thread count and what every run
    starts from."""
    tune_cpu_allocator()
    torch.set_num_threads(threads)
    _WORKER.update(model=model, train_pairs=train_pairs, val_pairs=val_pairs)


def _worker_run(kwargs: Mapping[str, Any]) -> FinetuneResult:
    train, val, rest = split_run_pairs(kwargs, _WORKER["train_pairs"], _WORKER["val_pairs"])
    return finetune(_WORKER["model"], train, val, **rest)


def finetune_many(
    model: ClapModel,
    train_pairs: pd.DataFrame,
    val_pairs: pd.DataFrame,
    runs: Sequence[Mapping[str, Any]],
    *,
    workers: int | str = "auto",
    executor: Any = None,
    **common: Any,
) -> list[FinetuneResult]:
    """:func:`humanclap.train.finetune` once per item of ``runs``, in parallel processes on a CPU,
    or as jobs of a submitit executor (SLURM, local processes).

    Parameters
    ----------
    model : ClapModel
        The model every run starts from (not modified).
    train_pairs, val_pairs : pd.DataFrame
        As for :func:`~humanclap.train.finetune`, shared by every run.
    runs : sequence of dict
        Each run's own keyword arguments of :func:`~humanclap.train.finetune` (``seed``,
        ``loss``, ``lambdas`` ...), over ``common``. A run may also name its own
        ``train_pairs`` and ``val_pairs`` (e.g. listener-normalised targets): runs on other
        pairs then share the processes instead of starting their own.
    workers : int or "auto"
        Processes that train at once (see :func:`resolve_workers`: "auto" is one per CPU core,
        up to 8, for a model of at most 20 M parameters on a CPU, else 1); 1 trains every run
        here, one after another, with this process's threads. With a local executor: its jobs
        running at once. A cluster's executor schedules its jobs itself (``"auto"`` only).
    executor : submitit executor, str or None
        None or ``"process"``: the process pool above. A submitit executor
        (``submitit.AutoExecutor``, ``LocalExecutor``, ``SlurmExecutor``), or ``"local"`` /
        ``"slurm"`` (:func:`humanclap.train.executor.make_executor` with its defaults): one job
        per unfinished run, each :func:`~humanclap.train.finetune` in its run folder, requeued
        and resumed after a preemption (:mod:`humanclap.train.jobs`); finished runs are read back
        without a job. Runs should have an ``out_dir`` (``"auto"``) to resume; the jobs must see
        it and the executor's folder (a shared file system on a cluster).
    **common
        Keyword arguments of every run (``lr``, ``num_epochs``, ``out_dir="auto"``, ``device``
        ...). ``callback`` needs ``workers=1`` and no executor (it would run in another
        process).

    Returns
    -------
    list of FinetuneResult
        In the order of ``runs``.

    Raises
    ------
    ValueError
        Bad ``workers`` or ``executor``, or a ``callback`` with parallel workers or an executor.
    Exception
        The first run that failed, raised after the others have ended, with a note per failed
        run (through an executor: submitit's ``FailedJobError`` with the job's traceback).
    """
    runs = [{**common, **dict(run)} for run in runs]
    devices = {torch.device(kwargs.get("device") or model.device) for kwargs in runs}
    device = next((d for d in devices if d.type != "cpu"), torch.device("cpu"))
    num_parameters = sum(p.numel() for p in model.parameters())
    if isinstance(executor, str):
        executor = make_executor(executor)
    if executor is not None:
        workers_at_once = (workers, device, num_parameters)
        return _through_executor(executor, model, train_pairs, val_pairs, runs, workers_at_once)
    num_workers = resolve_workers(workers, device, len(runs), num_parameters)
    if num_workers == 1:
        results = []
        for kwargs in runs:
            train, val, rest = split_run_pairs(kwargs, train_pairs, val_pairs)
            results.append(finetune(model, train, val, **rest))
        return results
    if any(kwargs.get("callback") is not None for kwargs in runs):
        raise ValueError("callback: runs in the caller's process only; use workers=1")
    log.info("training %d runs in %d processes", len(runs), num_workers)
    with worker_pool(num_workers, (model, train_pairs, val_pairs)) as pool:
        futures = [pool.submit(_worker_run, kwargs) for kwargs in runs]
        return gather_results(futures, [f"run {i} ({describe_run(r)})" for i, r in enumerate(runs)])


def _through_executor(
    executor: Any,
    model: ClapModel,
    train_pairs: pd.DataFrame,
    val_pairs: pd.DataFrame,
    runs: list[dict[str, Any]],
    workers_at_once: tuple[int | str, torch.device, int],
) -> list[FinetuneResult]:
    """The runs as submitit jobs (:func:`humanclap.train.jobs.finetune_jobs`): on this machine
    at most as many at once as :func:`resolve_workers` gives for ``workers_at_once`` (workers,
    device, parameter count), threads shared out as the pool does when the CPU is not pinned; a
    cluster schedules them itself."""
    if any(kwargs.get("callback") is not None for kwargs in runs):
        raise ValueError("callback: runs in the caller's process only; use no executor, workers=1")
    kind = executor_kind(executor)
    workers, device, num_parameters = workers_at_once
    if kind == "local":
        local_workers = resolve_workers(workers, device, len(runs), num_parameters)
        threads = max(1, available_cpus() // local_workers)
        return finetune_jobs(executor, model, train_pairs, val_pairs, runs,
                             max_running=local_workers, threads=threads)  # fmt: skip
    if workers != "auto":
        raise ValueError(
            f"workers={workers!r}: the {kind!r} executor schedules its jobs itself (SLURM: "
            "slurm_array_parallelism); leave workers='auto'"
        )
    return finetune_jobs(executor, model, train_pairs, val_pairs, runs)


@contextlib.contextmanager
def worker_pool(
    num_workers: int, initargs: tuple[ClapModel, pd.DataFrame, pd.DataFrame]
) -> Iterator[ProcessPoolExecutor]:
    """``num_workers`` spawned processes that train from ``initargs`` (model, train pairs,
    validation pairs), with the book's CPU settings (:func:`humanclap.runtime.pinned_environ`:
    AVX2 kernels and one thread each, whatever the caller's environment says); with
    ``HUMANCLAP_PIN_CPU=0``, this machine's kernels and its cores shared out among them.
    Submit every task inside the block: processes start as tasks arrive."""
    with pinned_environ() as env:
        threads = int(env.get("OMP_NUM_THREADS", max(1, available_cpus() // num_workers)))
        log.info("%d worker process(es), %d thread(s) each, CPU settings %s", num_workers,
                 threads, env or "this machine's")  # fmt: skip
        with ProcessPoolExecutor(
            max_workers=num_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(*initargs, threads),
        ) as pool:
            yield pool
