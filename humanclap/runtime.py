"""How a model runs, shared by embedding and training: numeric precision, autocast, eval mode,
and the threads that decode the next batches of audio while the model works on this one.

Precision
---------
One switch everywhere, ``precision="auto" | "fp32" | "bf16" | "fp16"``:

- ``"auto"``: fp32 on the CPU; on CUDA, autocast to bf16 where the GPU supports it, else fp16;
- ``"fp32"``: no autocast;
- ``"bf16"``: autocast to bf16, on CUDA, or on a CPU that computes bf16 natively
  (:func:`cpu_has_native_bf16`: AVX512-BF16 or AMX). Other CPUs would emulate it, slower than
  fp32, so there it is an error, not a silent fp32 run;
- ``"fp16"``: autocast to fp16, on CUDA only (an error elsewhere).

``"auto"`` never picks bf16 on a CPU: a CPU's choice would change the numbers from one machine
to the next, so it is asked for by name. Fine-tuning the tiny CLAP in bf16 on a CPU with native
bf16 was 1.33-1.47x faster than in fp32 (one thread, two runs of ``bench/cpu_bf16.py``); its
validation SRCC stayed within 0.0031 of fp32's.

Embeddings and losses are always returned and computed in float32.

The CPU allocator
-----------------
glibc's ``malloc`` hands blocks of more than its mmap threshold (128 KiB at first) straight to
the kernel and gives them back on ``free``, so a training step that allocates the same
multi-megabyte activations every batch pays page faults for every one of them (the tiny CLAP's
first convolution block writes 6.6 MB tensors). :func:`tune_cpu_allocator` raises the threshold
and keeps freed memory in the process, as PyTorch's CPU performance guide does with jemalloc or
tcmalloc; the arithmetic is unchanged. humanclap calls it only in the processes it starts
(:func:`humanclap.train.finetune_many`'s workers), never in the caller's.

The same numbers on every x86-64 CPU
------------------------------------
torch, oneDNN and MKL pick their CPU kernels by instruction set (AVX-512 and AVX2 kernels sum
in different orders), and the number of intra-op threads splits sums differently: four epochs
of the tiny CLAP's pre-training gave other weights with torch's kernels at AVX2 or "default"
instead of AVX-512, oneDNN capped at AVX2, or 1 thread instead of 2. :data:`CPU_PIN_ENV` fixes
them to what every x86-64 CPU with AVX2 does. Each library reads them at its first use, so
humanclap puts them in the environment of the processes it starts (:func:`pinned_environ`: the
book's kernels, :func:`humanclap.train.finetune_many`'s workers, the tiny CLAP's pre-training);
a program calls :func:`pin_cpu_numerics` before its first tensor operation to compute exactly
as the book does. ``HUMANCLAP_PIN_CPU=0`` leaves every setting alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import platform
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import torch

__all__ = [
    "CPU_PIN_ENV",
    "PIN_SWITCH",
    "PRECISIONS",
    "autocast",
    "check_precision",
    "cpu_has_native_bf16",
    "cpu_numerics_pinned",
    "cpu_pin_env",
    "cpu_settings",
    "eval_mode",
    "pin_cpu_numerics",
    "pinned_environ",
    "prefetch",
    "resolve_device",
    "resolve_precision",
    "run_in_pool",
    "shutdown",
    "thread_pool",
    "tune_cpu_allocator",
]

log = logging.getLogger("humanclap")

#: Values of ``precision``.
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")

T = TypeVar("T")
R = TypeVar("R")


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device`` that exists here; ``"auto"``: cuda, else mps, else cpu.

    Raises
    ------
    ValueError
        Naming ``device``: not a device name, or a device this machine does not have.
    """
    mps = getattr(torch.backends, "mps", None)
    have = {"cpu": 1, "cuda": torch.cuda.device_count() if torch.cuda.is_available() else 0,
            "mps": int(bool(mps and mps.is_available()))}  # fmt: skip
    if str(device) == "auto":
        return torch.device(next((t for t in ("cuda", "mps") if have[t]), "cpu"))
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError) as err:
        why = f"device {device!r}: not a device ({err}); e.g. cpu, cuda:0, mps, auto"
        raise ValueError(why) from None
    count = have.get(dev.type, 1)  # other types (xpu, meta ...) are left to torch
    if (dev.index or 0) >= count:
        why = f"{count} {dev.type} available; use 'auto' or 'cpu'"
        raise ValueError(f"device {device!r}: this machine has no such device ({why})")
    return dev


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a ValueError naming it."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {PRECISIONS}, got {precision!r}")
    return precision


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX tiles), so that bf16
    autocast is faster than fp32 on it (torch's own CPU feature checks; False where torch
    has none)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """The precision actually used on ``device``: ``"fp32"``, ``"bf16"`` or ``"fp16"``.

    Raises
    ------
    ValueError
        ``precision`` is unknown, fp16 is asked for off CUDA, or bf16 off CUDA on a CPU without
        native bf16.
    """
    device = torch.device(device)
    if check_precision(precision) == "auto":
        if device.type != "cuda":
            return "fp32"
        # No emulated bf16 (a T4, Colab's free GPU): fp16 is faster there.
        return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
    if precision == "fp32" or device.type == "cuda":
        return precision
    if precision == "bf16" and device.type == "cpu":
        if cpu_has_native_bf16():
            return precision
        raise ValueError(
            "precision='bf16' needs CUDA or a CPU with native bf16 (AVX512-BF16 or AMX); this "
            "CPU would emulate it, slower than fp32: use 'auto' or 'fp32'"
        )
    raise ValueError(
        f"precision={precision!r} needs CUDA (the device is {device}); use 'auto' or 'fp32'"
    )


def autocast(device: torch.device | str, precision: str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for a resolved ``precision`` (a no-op context for ``"fp32"``)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode for the block and restore its train/eval mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def prefetch(
    batches: Sequence[Sequence[T]],
    fn: Callable[[T], R],
    pool: ThreadPoolExecutor | None,
    ahead: int = 1,
) -> Iterator[list[R]]:
    """``[fn(x) for x in batch]`` for each batch in turn, the next ``ahead`` batches computed
    by ``pool``'s threads while the caller works on the current one.

    Parameters
    ----------
    batches : sequence of sequences
        Items to process, batch by batch.
    fn : callable
        What to do with one item (decode a file ...). An exception it raises is raised here
        when its batch is reached (after the pool has been told to drop what is queued).
    pool : ThreadPoolExecutor or None
        None computes everything in the calling thread, when its batch is reached.
    ahead : int
        Batches submitted beyond the current one.

    Yields
    ------
    list
        The results of one batch, in order.
    """
    if pool is None:
        for batch in batches:
            yield [fn(x) for x in batch]
        return
    submitted: dict[int, list[Future]] = {}

    def submit(b: int) -> None:
        if b < len(batches) and b not in submitted:
            submitted[b] = [pool.submit(fn, x) for x in batches[b]]

    try:
        for b in range(len(batches)):
            for later in range(b, b + ahead + 1):
                submit(later)
            yield [future.result() for future in submitted.pop(b)]
    finally:
        for futures in submitted.values():
            for future in futures:
                future.cancel()


def thread_pool(num_workers: int, name: str = "humanclap-audio") -> ThreadPoolExecutor | None:
    """A pool of ``num_workers`` threads, or None for 0 (work in the calling thread)."""
    return ThreadPoolExecutor(num_workers, thread_name_prefix=name) if num_workers > 0 else None


def run_in_pool(
    pool: ThreadPoolExecutor | None, fn: Callable[[T], R], items: Sequence[T]
) -> list[R]:
    """``[fn(x) for x in items]``, by ``pool``'s threads when there is one (order kept)."""
    return list(pool.map(fn, items)) if pool is not None else [fn(x) for x in items]


def shutdown(pool: ThreadPoolExecutor | None) -> None:
    """Stop ``pool``, dropping queued work (None: nothing to do)."""
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_cpu_allocator(mmap_threshold: int = 32 * 1024**2, trim_threshold: int = 1024**3) -> bool:
    """Keep large CPU blocks in this process's heap (glibc ``mallopt``); see the module doc.

    Parameters
    ----------
    mmap_threshold : int
        Blocks below this many bytes come from the heap, not from ``mmap`` (glibc's maximum
        is 32 MiB on 64-bit systems).
    trim_threshold : int
        Freed heap memory up to this many bytes stays in the process.

    Returns
    -------
    bool
        True when glibc accepted both settings; False where there is no glibc (macOS,
        Windows, musl), which changes nothing but speed.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        log.debug("no glibc mallopt here (%s): the CPU allocator keeps its defaults", name)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
    return mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)) == 1 and ok


# ----------------------------------------------------------------- the same numbers everywhere
#: What :func:`pin_cpu_numerics` and :func:`pinned_environ` set: the kernels of every x86-64
#: CPU with AVX2 in torch (``ATEN_CPU_CAPABILITY``), oneDNN (``ONEDNN_MAX_CPU_ISA``), MKL
#: (``MKL_CBWR``) and numpy's OpenBLAS (``OPENBLAS_CORETYPE``), and one intra-op thread.
CPU_PIN_ENV: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
#: The environment variable that turns pinning off (``0``, ``false``, ``no``, ``off``).
PIN_SWITCH = "HUMANCLAP_PIN_CPU"
_ISA_KEYS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "OPENBLAS_CORETYPE")


def _cpu_has_avx2() -> bool:
    machine = platform.machine().lower()
    x86 = machine in ("x86_64", "amd64", "x86-64", "i386", "i686")
    return x86 and bool(getattr(torch.cpu, "_is_avx2_supported", lambda: False)())


def cpu_pin_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables that make a process compute as the book does on this CPU:
    :data:`CPU_PIN_ENV`; only its threads (with a warning) on a CPU without AVX2; none when
    ``environ`` (default ``os.environ``) has ``HUMANCLAP_PIN_CPU=0``."""
    environ = os.environ if environ is None else environ
    if environ.get(PIN_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return {}
    if _cpu_has_avx2():
        return dict(CPU_PIN_ENV)
    warnings.warn(
        f"this CPU ({platform.machine()}) has no AVX2: its numbers will differ from the book's "
        "in the last digits and may change its choices; only the thread count is pinned",
        RuntimeWarning,
        stacklevel=2,
    )
    return {k: v for k, v in CPU_PIN_ENV.items() if k not in _ISA_KEYS}


def _apply(env: Mapping[str, str], target: MutableMapping[str, str]) -> dict[str, str | None]:
    """Set ``env`` in ``target``; the values it replaced (None: was unset)."""
    before = {k: target.get(k) for k in env}
    for key, value in env.items():
        if before[key] not in (None, value):
            log.info("%s=%s replaced by %s (%s=0 keeps it)", key, before[key], value, PIN_SWITCH)
    target.update(env)
    return before


@contextlib.contextmanager
def pinned_environ(environ: MutableMapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Within the block, ``environ`` (default ``os.environ``) holds :func:`cpu_pin_env`, so
    that processes started in it (notebook kernels, spawned workers) compute as the book does;
    the previous values come back afterwards (this process: :func:`pin_cpu_numerics`).

    Yields
    ------
    dict
        The variables set (empty with ``HUMANCLAP_PIN_CPU=0``).
    """
    environ = os.environ if environ is None else environ
    env = cpu_pin_env(environ)
    before = _apply(env, environ)
    try:
        yield env
    finally:
        for key, value in before.items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value


def pin_cpu_numerics() -> dict[str, str]:
    """Make this process compute as the book does: :func:`cpu_pin_env` in ``os.environ`` (for
    the libraries that have not started yet and for child processes) and one torch thread.

    Call it before any tensor operation (torch, oneDNN and MKL read their settings at their
    first use); a warning says when torch had already chosen other kernels.

    Returns
    -------
    dict
        The variables set (empty with ``HUMANCLAP_PIN_CPU=0``, which changes nothing).
    """
    env = cpu_pin_env()
    if not env:
        return env
    _apply(env, os.environ)
    torch.set_num_threads(int(env["OMP_NUM_THREADS"]))
    wanted = env.get("ATEN_CPU_CAPABILITY")
    chosen = torch.backends.cpu.get_cpu_capability()
    if wanted is not None and chosen.lower() != wanted:
        warnings.warn(
            f"torch already computes with its {chosen} kernels in this process (they are chosen "
            f"at the first tensor operation); call pin_cpu_numerics() before any, or start "
            f"Python with ATEN_CPU_CAPABILITY={wanted}, to get the book's numbers",
            RuntimeWarning,
            stacklevel=2,
        )
    return env


def cpu_numerics_pinned() -> bool:
    """Whether this process computes as the book does (:func:`cpu_pin_env` in ``os.environ``,
    one torch thread, torch's AVX2 kernels), whatever ``HUMANCLAP_PIN_CPU`` says. It asks
    torch for its kernels only when the environment is pinned, never fixing an unpinned choice."""
    env = cpu_pin_env({})
    if any(os.environ.get(k) != v for k, v in env.items()):
        return False
    if env and torch.get_num_threads() != int(env["OMP_NUM_THREADS"]):
        return False
    wanted = env.get("ATEN_CPU_CAPABILITY")
    return wanted is None or torch.backends.cpu.get_cpu_capability().lower() == wanted


def cpu_settings() -> dict[str, str | int | bool]:
    """What this process computes with: ``{"capability": torch's kernels ("AVX2" ...),
    "threads": int, "pinned": bool}`` (:func:`cpu_numerics_pinned`); chapters record it."""
    return {"capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "pinned": cpu_numerics_pinned()}  # fmt: skip
