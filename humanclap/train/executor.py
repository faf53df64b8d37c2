"""Where a study's runs train, by name: the process pool, or a submitit executor (local
processes or SLURM jobs) built from settings or from the environment.

:func:`humanclap.train.finetune_many` takes ``executor=`` a submitit executor (any that
``submitit.AutoExecutor``, ``LocalExecutor`` or ``SlurmExecutor`` makes), or a name here:

- ``"process"``: the process pool of :mod:`humanclap.train.parallel` (the default);
- ``"local"``: submitit's local executor, one process per run on this machine (a job that is
  killed or preempted is requeued and resumes from its run folder);
- ``"slurm"``: one SLURM job per run, submitted as a job array (``sbatch``; this machine must
  have ``srun``).

:func:`make_executor` builds one from its name and submitit's options (``partition``,
``gpus_per_node``, ``timeout_min``, ``array_parallelism``, ``mem_gb``, ``cpus_per_task``,
``setup`` ...; a cluster's own options with or without its prefix: ``slurm_partition`` or
``partition``), checking every option name before anything is submitted.
:func:`executor_from_environ` reads the same from the environment, as the book does
(``$HUMANCLAP_EXECUTOR``, ``$HUMANCLAP_SLURM_<OPTION>`` or ``$HUMANCLAP_LOCAL_<OPTION>``,
``$HUMANCLAP_EXECUTOR_FOLDER``); ``make relate EXECUTOR=slurm SLURM_PARTITION=gpu`` sets them.

submitit is the optional ``cluster`` extra (``pip install "humanclap[cluster]"``): it is imported
only when an executor is built here or a job is requeued.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from humanclap.utils import cache_dir

__all__ = [
    "DEFAULT_TIMEOUT_MIN",
    "ENV_EXECUTOR",
    "ENV_FOLDER",
    "EXECUTORS",
    "executor_from_environ",
    "executor_options",
    "make_executor",
]

log = logging.getLogger("humanclap.train")

#: Names of :func:`make_executor`.
EXECUTORS: tuple[str, ...] = ("process", "local", "slurm")
#: The environment variable naming the book's executor (unset: ``"process"``).
ENV_EXECUTOR = "HUMANCLAP_EXECUTOR"
#: The environment variable naming the folder of submitit's job files and logs.
ENV_FOLDER = "HUMANCLAP_EXECUTOR_FOLDER"
#: A job's time limit unless one is given (submitit's own defaults, 2 minutes for a local job and
#: 5 for a SLURM job, are too short for a run; a job that reaches it is requeued and resumes).
DEFAULT_TIMEOUT_MIN = 240
#: Options given to the executor's constructor rather than to ``update_parameters``.
_CONSTRUCTOR_OPTIONS = ("max_num_timeout", "max_pickle_size_gb", "python")


def _submitit() -> Any:
    try:
        import submitit  # lazy: the optional cluster extra, needed only for these executors
    except ImportError as err:
        raise ImportError(
            "executor: submitit is not installed; pip install 'humanclap[cluster]' (or use "
            "executor='process')"
        ) from err
    return submitit


def executor_options(kind: str) -> dict[str, type | None]:
    """The options an executor named ``kind`` accepts, with the type each generic one must have
    (None: checked by submitit).

    Returns
    -------
    dict
        submitit's generic options (``timeout_min``, ``gpus_per_node``, ``mem_gb``,
        ``cpus_per_task``, ``nodes``, ``tasks_per_node``, ``name``, ``stderr_to_stdout``), the
        cluster's own (``partition``, ``array_parallelism``, ``setup`` ... for SLURM; ``setup``
        for local), and :data:`_CONSTRUCTOR_OPTIONS`. Empty for ``"process"``.
    """
    kind = check_kind(kind)
    if kind == "process":
        return {}
    submitit = _submitit()
    cluster = {"local": submitit.LocalExecutor, "slurm": submitit.SlurmExecutor}[kind]
    options: dict[str, type | None] = dict.fromkeys(sorted(cluster._valid_parameters()))
    options.update(dict.fromkeys(_CONSTRUCTOR_OPTIONS))
    options.update(submitit.AutoExecutor._typed_parameters())
    return options


def check_kind(kind: Any, where: str = "executor") -> str:
    """``kind`` if it is one of :data:`EXECUTORS`, else a ValueError naming ``where``."""
    if isinstance(kind, str) and kind.strip().lower() in EXECUTORS:
        return kind.strip().lower()
    close = difflib.get_close_matches(str(kind).lower(), EXECUTORS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"{where}: expected one of {EXECUTORS}, got {kind!r}{hint}")


def _option_name(kind: str, name: str, known: Mapping[str, Any], where: str) -> str:
    """``name`` without the cluster prefix (``slurm_partition`` -> ``partition``), checked."""
    bare = name[len(kind) + 1 :] if name.startswith(f"{kind}_") else name
    if bare in known:
        return bare
    close = difflib.get_close_matches(bare, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"{where}: unknown option {name!r} of the {kind!r} executor{hint}; its options are "
        f"{', '.join(known)}"
    )


def _check_type(name: str, value: Any, wanted: type | None, where: str) -> None:
    if wanted is None:
        return
    ok = isinstance(value, int | float) if wanted is float else isinstance(value, wanted)
    if not ok or (wanted is int and isinstance(value, bool)):
        raise ValueError(
            f"{where}: option {name!r} must be {wanted.__name__}, got {value!r} "
            f"({type(value).__name__})"
        )


def make_executor(
    kind: str = "process",
    folder: str | os.PathLike | None = None,
    *,
    where: Mapping[str, str] | None = None,
    **options: Any,
) -> Any:
    """An executor for :func:`humanclap.train.finetune_many`, by name.

    Parameters
    ----------
    kind : {"process", "local", "slurm"}
        ``"process"``: None, which ``finetune_many`` takes as its process pool.
    folder : path-like, optional
        submitit's folder for job files and logs (default ``<cache>/submitit``). On SLURM the jobs
        must see it, as they must see the run folders (``<cache>/finetunes``): a shared file
        system.
    where : mapping, optional
        How each option is named in messages (e.g. the environment variable it came from).
    **options
        submitit's options (see :func:`executor_options`): ``timeout_min`` (default
        :data:`DEFAULT_TIMEOUT_MIN`), ``gpus_per_node``, ``cpus_per_task``, ``mem_gb``;
        SLURM's ``partition``, ``array_parallelism``, ``qos``, ``account``, ``setup`` ... (with or
        without the ``slurm_`` prefix); ``max_num_timeout`` (requeues after a time-out).

    Returns
    -------
    submitit.AutoExecutor or None

    Raises
    ------
    ValueError
        An unknown ``kind`` or option (naming it and the closest known one), a value of the
        wrong type, or options given to ``"process"``.
    RuntimeError
        ``"slurm"`` on a machine without ``srun``.
    """
    kind = check_kind(kind)
    where = dict(where or {})

    def named(name: str) -> str:
        return where.get(name, f"executor option {name!r}")

    if kind == "process":
        if options:
            first = next(iter(options))
            raise ValueError(f"{named(first)}: the 'process' executor (the pool) takes no options")
        return None
    known = executor_options(kind)
    params, ctor = {"timeout_min": DEFAULT_TIMEOUT_MIN}, {}
    for name, value in options.items():
        bare = _option_name(kind, name, known, named(name))
        _check_type(bare, value, known[bare], named(name))
        if bare in _CONSTRUCTOR_OPTIONS:
            ctor[f"{kind}_{bare}"] = value
        elif known[bare] is not None:  # submitit's generic options are the typed ones
            params[bare] = value
        else:
            params[f"{kind}_{bare}"] = value
    submitit = _submitit()
    folder = Path(folder) if folder is not None else cache_dir("submitit")
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster=kind, **ctor)
    except RuntimeError as err:
        raise RuntimeError(
            f"executor {kind!r}: {err} Submit from a machine with SLURM's commands, or use "
            "'local' or 'process'"
        ) from err
    try:
        executor.update_parameters(**params)
    except (ValueError, NameError, AssertionError) as err:
        raise ValueError(
            f"executor {kind!r}: submitit refused the options {params}: {err}"
        ) from err
    return executor


def _parse(text: str) -> Any:
    """An option's value from an environment variable: JSON where it parses (``240``,
    ``true``, ``["module load cuda"]``), else the text (``gpu``)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def executor_from_environ(environ: Mapping[str, str] | None = None) -> Any:
    """The executor the environment asks for (the book's way to choose it).

    ``$HUMANCLAP_EXECUTOR`` (``process``, ``local`` or ``slurm``; unset or empty: ``process``),
    its options as ``$HUMANCLAP_<EXECUTOR>_<OPTION>`` (``HUMANCLAP_SLURM_PARTITION=gpu``,
    ``HUMANCLAP_SLURM_GPUS_PER_NODE=1``, ``HUMANCLAP_SLURM_TIMEOUT_MIN=600``,
    ``HUMANCLAP_SLURM_ARRAY_PARALLELISM=8``; values read as JSON where they parse, else as
    text) and ``$HUMANCLAP_EXECUTOR_FOLDER`` (submitit's folder).

    Returns
    -------
    submitit.AutoExecutor or None
        None for ``process``.

    Raises
    ------
    ValueError
        Naming the environment variable: an unknown executor or option, a wrong type.
    """
    environ = os.environ if environ is None else environ
    kind = check_kind(environ.get(ENV_EXECUTOR, "").strip() or "process", ENV_EXECUTOR)
    options, where = {}, {}
    for other in EXECUTORS:
        prefix = f"HUMANCLAP_{other.upper()}_"
        names = sorted(k for k in environ if k.startswith(prefix))
        if other != kind and names:
            log.warning("%s=%s: %s ignored (options of the %r executor)", ENV_EXECUTOR, kind,
                        ", ".join(names), other)  # fmt: skip
        elif other == kind:
            for var in names:
                name = var[len(prefix) :].lower()
                options[name], where[name] = _parse(environ[var]), var
    folder = environ.get(ENV_FOLDER) or None
    if kind == "process" and folder:
        log.warning("%s ignored: the 'process' executor writes no job files", ENV_FOLDER)
        folder = None
    return make_executor(kind, folder, where=where, **options)
