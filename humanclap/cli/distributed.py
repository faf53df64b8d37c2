"""``humanclap score`` as one rank of ``torchrun --nproc_per_node N -m humanclap score ...``.

A process whose environment has ``WORLD_SIZE`` > 1 (torchrun sets it, with ``RANK``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``) is one rank of a job:

- it joins the process group (``torch.distributed``, ``env://``): gloo on CPU; with CUDA
  (``--device auto`` on a machine with CUDA, or ``--device cuda``) each rank uses
  ``cuda:LOCAL_RANK`` and the group is ``cpu:gloo,cuda:nccl`` (nccl for CUDA tensors, gloo for
  the tables the ranks exchange, which live in CPU memory);
- every rank reads and checks the input as one process does, then scores its contiguous slice
  of the pairs (:func:`humanclap.score.shard.shard_rows`), embedding through the same
  content-keyed cache, so an interrupted job resumes: finished batches are not embedded again,
  whichever rank holds them next time;
- the ranks exchange their tables; rank 0 merges them (:func:`~humanclap.score.shard.
  merge_shards`, the input's order) and alone writes the CSV (atomically) and the ``--json``
  summary and prints the report; the others show no progress bar unless asked;
- the ranks then agree on rank 0's exit status, so every rank exits as one process would.

A failure on one rank stops all of them with one message: bad input on any rank (exit 2;
the message once when every rank found the same problem, else each rank's), an unexpected
error (exit 1, naming the rank; its traceback is in its own output). A rank that dies without
a word (killed, out of memory) breaks its connections, and the others stop with a message
rather than waiting; every wait for the other ranks (joining, exchanging) gives up after
``$HUMANCLAP_DIST_TIMEOUT`` seconds (default 1800, torch's own default for gloo).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = ["DEFAULT_TIMEOUT_S", "ENV_TIMEOUT", "Ranks", "launched_by_torchrun", "rank_device",
           "run_ranks"]  # fmt: skip

#: The environment variable that bounds every wait for the other ranks, in seconds.
ENV_TIMEOUT = "HUMANCLAP_DIST_TIMEOUT"
#: Its default: torch's own process-group timeout for gloo (30 minutes).
DEFAULT_TIMEOUT_S = 1800.0
#: Exit status of bad input (as one process); of an error on some rank or a lost rank.
EXIT_BAD_INPUT, EXIT_FAILED = 2, 1


def _say(message: str) -> None:
    print(f"humanclap score: {message}", file=sys.stderr)


def launched_by_torchrun(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process is one rank of several: ``WORLD_SIZE`` is set and not 1."""
    environ = os.environ if environ is None else environ
    return environ.get("WORLD_SIZE", "1").strip() not in ("", "1")


def rank_device(device: str, local_rank: int, cuda_count: int) -> tuple[str, str | None]:
    """The ``--device`` a rank uses, and what is wrong with the one given (None: nothing).

    ``auto`` with CUDA and ``cuda`` become ``cuda:<local_rank>``; ``cuda:<n>`` is refused
    (every rank would use the same GPU); other devices (``cpu``, ``mps``, ``auto`` without
    CUDA) stay as given.

    Parameters
    ----------
    device : str
        ``--device`` as given.
    local_rank : int
        ``LOCAL_RANK``: this rank's number on its machine.
    cuda_count : int
        CUDA devices this process sees.
    """
    if device.startswith("cuda:"):
        return device, (
            "under torchrun each rank uses cuda:LOCAL_RANK; give --device cuda or auto "
            "(CUDA_VISIBLE_DEVICES chooses the GPUs)"
        )
    if device == "cuda" or (device == "auto" and cuda_count > 0):
        if cuda_count and local_rank >= cuda_count:
            return (
                device,
                f"LOCAL_RANK {local_rank}, but this machine has {cuda_count} CUDA devices",
            )
        return (f"cuda:{local_rank}", None) if cuda_count else (device, None)
    return device, None


@dataclass
class _Outcome:
    """What one rank says at a meeting of all ranks."""

    rank: int
    ok: bool
    message: str = ""
    crashed: bool = False
    status: int | None = None
    payload: Any = None


class RankStop(Exception):
    """Stop this rank with ``status``; what happened has been said."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Ranks:
    """This process as rank ``rank`` of ``world_size`` (module doc).

    Every exchange is one ``all_gather_object`` of what each rank has to say, so ranks that
    went different ways (one failed its input checks, another finished its slice) still meet
    and all stop when any failed; after a failure no rank waits for another again.
    """

    def __init__(self, rank: int, world_size: int, local_rank: int, timeout_s: float) -> None:
        self.rank, self.world_size, self.local_rank = rank, world_size, local_rank
        self.timeout_s = timeout_s
        self.stopped = False
        self.started = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Ranks:
        """The ranks torchrun's variables describe; ValueError naming a missing or bad one."""
        environ = os.environ if environ is None else environ
        numbers = {}
        for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
            value = environ.get(name, environ.get("RANK") if name == "LOCAL_RANK" else None)
            if value is None or not value.strip().isdigit():
                raise ValueError(f"${name}={value}: expected an integer >= 0 (torchrun sets it)")
            numbers[name] = int(value)
        if numbers["RANK"] >= numbers["WORLD_SIZE"]:
            raise ValueError(f"$RANK={numbers['RANK']}: not below $WORLD_SIZE")
        missing = [n for n in ("MASTER_ADDR", "MASTER_PORT") if not environ.get(n)]
        if missing:
            raise ValueError(f"${' and $'.join(missing)}: not set (torchrun sets them)")
        raw = environ.get(ENV_TIMEOUT, str(DEFAULT_TIMEOUT_S))
        try:
            timeout_s = float(raw)
        except ValueError:
            timeout_s = -1.0
        if not timeout_s > 0:
            raise ValueError(f"${ENV_TIMEOUT}={raw}: expected a number of seconds > 0")
        return cls(numbers["RANK"], numbers["WORLD_SIZE"], numbers["LOCAL_RANK"], timeout_s)

    @property
    def name(self) -> str:
        return f"rank {self.rank} of {self.world_size}"

    def start(self, backend: str) -> None:
        """Join the process group (RankStop with a message when the others do not come)."""
        import torch.distributed as dist  # lazy: torch, only for a rank of several

        try:
            dist.init_process_group(backend, timeout=timedelta(seconds=self.timeout_s))
        except (RuntimeError, ValueError) as err:  # torch's DistError is a RuntimeError
            self.stopped = True
            _say(f"{self.name}: could not join the other ranks ({_first_line(err)}); "
                 f"waited up to {self.timeout_s:g} s (${ENV_TIMEOUT})")  # fmt: skip
            raise RankStop(EXIT_FAILED) from None
        self.started = True

    def close(self) -> None:
        """Leave the process group (quietly: the job is over either way)."""
        import torch.distributed as dist  # lazy: torch, only for a rank of several

        if self.started and dist.is_initialized():
            try:
                dist.destroy_process_group()
            except RuntimeError:
                pass
        self.started = False

    def _meet(self, outcome: _Outcome) -> list[_Outcome]:
        """Every rank's outcome (this one's included); RankStop when any rank failed (said by
        the lowest rank that did not crash) or when a rank is lost (said by each)."""
        import torch.distributed as dist  # lazy: torch, only for a rank of several

        heard: list[Any] = [None] * self.world_size
        try:
            dist.all_gather_object(heard, outcome)
        except RuntimeError as err:  # a rank died, or did not come within the timeout
            self.stopped = True
            _say(f"{self.name}: lost contact with the other ranks ({_first_line(err)}); one "
                 "of them stopped (see its messages) or did not answer within "
                 f"{self.timeout_s:g} s (${ENV_TIMEOUT})")  # fmt: skip
            raise RankStop(EXIT_FAILED) from None
        failed = [o for o in heard if not o.ok]
        if not failed:
            return heard
        self.stopped = True
        self._say_failures(failed)
        raise RankStop(EXIT_FAILED if any(o.crashed for o in failed) else EXIT_BAD_INPUT)

    def _say_failures(self, failed: list[_Outcome]) -> None:
        crashed = {o.rank for o in failed if o.crashed}
        speaker = next((r for r in range(self.world_size) if r not in crashed), None)
        if speaker != self.rank:
            return
        if not crashed and len(failed) == self.world_size and len({o.message for o in failed}) == 1:
            _say(failed[0].message)  # every rank found the same problem: as one process says it
            return
        for o in failed:
            what = "failed (its traceback is in its output)" if o.crashed else "stopped"
            _say(f"rank {o.rank} of {self.world_size} {what}: {o.message}")

    def stop(self, message: str) -> int:
        """Bad input on this rank: tell the others; the exit status (said by rank 0)."""
        try:
            self._meet(_Outcome(self.rank, ok=False, message=message))
        except RankStop as stop:
            return stop.status
        raise AssertionError("unreachable: this rank's own outcome failed")  # pragma: no cover

    def crashed(self, err: BaseException) -> None:
        """An unexpected error on this rank: tell the others (unless it is too late)."""
        if not self.stopped:
            message = f"{type(err).__name__}: {_first_line(err)}"
            try:
                self._meet(_Outcome(self.rank, ok=False, message=message, crashed=True))
            except RankStop:
                pass

    def interrupted(self) -> bool:
        """Ctrl-C (or torchrun stopping the job): no more exchanges; whether to say it."""
        self.stopped = True
        return self.rank == 0

    def finish(self, status: int) -> int:
        """The exit status of every rank: rank 0's, once every rank is done."""
        if self.stopped:
            return status
        heard = self._meet(_Outcome(self.rank, ok=True, status=status))
        return int(heard[0].status)

    def sharded(self, score_fn: Callable[..., Any]) -> Callable[..., Any]:
        """``score_fn`` (:func:`humanclap.score.score_pairs`) on this rank's slice of the rows;
        every rank returns the merged table of all slices, in the input's order."""
        from humanclap.score.shard import merge_shards, shard_rows  # lazy: torch (embed)

        def score(model: Any, pairs: Any, *, row_labels: Any = None, **options: Any) -> Any:
            n = len(pairs)
            part = shard_rows(n, self.rank, self.world_size)
            labels = [f"row {i}" for i in range(n)] if row_labels is None else list(row_labels)
            want_info = options.pop("return_info", False)
            table, info = score_fn(model, pairs.iloc[part], row_labels=labels[part],
                                   return_info=True, **options)  # fmt: skip
            heard = self._meet(_Outcome(self.rank, ok=True, payload=(table, info)))
            tables, infos = zip(*(o.payload for o in heard), strict=True)
            merged, merged_info = merge_shards(tables, infos, n=n)
            return (merged, merged_info) if want_info else merged

        return score


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _join(args: argparse.Namespace) -> tuple[Ranks, str | None]:
    """Join the job (rank 0 says how it is split); this rank and what is wrong with
    ``--device`` (None: nothing). RankStop when the ranks cannot meet; ValueError for bad
    torchrun variables."""
    ranks = Ranks.from_env()
    import torch  # lazy: torch, only for a rank of several

    cuda_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    device, problem = rank_device(args.device, ranks.local_rank, cuda_count)
    on_cuda = problem is None and device.startswith("cuda") and cuda_count > 0
    if on_cuda:
        torch.cuda.set_device(ranks.local_rank)
    backend = "cpu:gloo,cuda:nccl" if on_cuda else "gloo"
    ranks.start(backend)
    if ranks.rank == 0:
        _say(f"{ranks.world_size} ranks ({backend}, rank 0 on {device}): each scores a "
             f"contiguous slice of the pairs; rank 0 writes {args.out}")  # fmt: skip
    args.device = device
    if ranks.rank != 0 and getattr(args, "progress", None) is None:
        args.progress = False  # one progress bar (rank 0's), not one per rank
    return ranks, problem


def run_ranks(args: argparse.Namespace, run_one: Callable[[argparse.Namespace, Ranks], int]) -> int:
    """Carry out ``humanclap score`` as one rank of a torchrun job (module doc).

    Parameters
    ----------
    args : argparse.Namespace
        ``humanclap score``'s arguments (``device`` and ``progress`` are set for this rank).
    run_one : callable
        ``run_one(args, ranks)``: the command itself, which scores through
        :meth:`Ranks.sharded`, lets rank 0 alone write and report, hands its input errors to
        :meth:`Ranks.stop` and says an interruption when :meth:`Ranks.interrupted` says so.

    Returns
    -------
    int
        The exit status, the same on every rank.
    """
    try:
        ranks, problem = _join(args)
    except ValueError as err:
        _say(str(err))
        return EXIT_BAD_INPUT
    except RankStop as stop:
        return stop.status
    try:
        if problem is not None:
            return ranks.stop(f"--device {args.device}: {problem}")
        return ranks.finish(run_one(args, ranks))
    except RankStop as stop:
        return stop.status
    except Exception as err:  # tell the other ranks, then the traceback as one process shows it
        ranks.crashed(err)
        raise
    finally:
        ranks.close()
