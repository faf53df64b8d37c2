"""Run the book's notebooks with papermill.

The source notebooks live in ``notebooks/`` with their outputs stripped; papermill executes them
with parameters and writes the executed copies where ``_toc.yml`` expects them
(``book/chapters/``). Jupyter Book then only renders those copies (``execute_notebooks: off``).

Parameters come from a YAML file (``params/book.yaml``)::

    common:            # offered to every notebook that declares the parameter
      seed: 0
    notebooks:         # per notebook, by file stem; unknown names are an error
      01_human_ratings:
        n_boot: 1000

Every notebook is run even when an earlier one fails; the failures are reported together at the
end. Each executed copy is written atomically (:func:`humanclap.utils.atomic_path`): a failed
run never leaves a half-written chapter
(the failed notebook goes to ``<name>.failed.ipynb`` beside it, with the error in its cells).
A chapter that ran is made ready for the book (:mod:`humanclap.book.publish`): papermill's
injected-parameters cell is hidden and machine paths are replaced in its outputs.

Every kernel starts with the CPU settings that make the numbers the same on every x86-64 CPU with
AVX2 (:func:`humanclap.runtime.pinned_environ`: torch's, oneDNN's and MKL's AVX2 kernels and one
thread), whatever the caller's environment says, unless ``HUMANCLAP_PIN_CPU=0``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from humanclap.book.banner import BANNER_METADATA
from humanclap.book.parameters import (
    NotebookError,
    check_parameter_names,
    declared_parameters,
    load_params,
    resolve_parameters,
    unknown_parameters,
)
from humanclap.book.publish import publish_notebook
from humanclap.runtime import pinned_environ
from humanclap.utils import atomic_path

__all__ = [
    "NotebookError",
    "RunResult",
    "book_notebooks",
    "declared_parameters",
    "unknown_parameters",
    "load_params",
    "ran_on",
    "run_notebook",
    "run_notebooks",
]

#: Seconds a notebook's kernel may take to start (papermill's ``start_timeout``).
KERNEL_START_TIMEOUT_S = 300


@dataclass
class RunResult:
    """Outcome of one notebook run."""

    name: str
    output: Path | None
    seconds: float
    error: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    world: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def simulated(self) -> bool:
        """Whether the chapter ran on the embedded simulation (its banner says so)."""
        return bool(self.world.get("simulated"))


def ran_on(notebook: str | os.PathLike) -> dict[str, Any]:
    """What an executed chapter ran on, from the metadata of its banner output.

    Returns
    -------
    dict
        ``{"dataset": "relate" | "synthetic" | "folder", "simulated": bool, "reason": str}``
        as :meth:`humanclap.book.Chapter.show_banner` recorded it; empty for a notebook without
        a chapter banner.
    """
    cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        for output in cell.get("outputs", []):
            world = output.get("metadata", {}).get(BANNER_METADATA)
            if isinstance(world, dict):
                return world
    return {}


def book_notebooks(
    toc: str | os.PathLike = "_toc.yml", output_dir: str = "book/chapters"
) -> list[str]:
    """Stems of the chapters that ``_toc.yml`` expects under ``output_dir``, in book order.

    Parameters
    ----------
    toc : path
        The Jupyter Book table of contents.
    output_dir : str
        Folder, relative to the toc's folder, where papermill writes executed notebooks.

    Returns
    -------
    list of str
        File stems such as ``"01_human_ratings"``.
    """
    toc = Path(toc)
    try:
        data = yaml.safe_load(toc.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise NotebookError(f"{toc}: cannot read the table of contents ({exc})") from exc
    prefix = output_dir.rstrip("/") + "/"
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            file = node.get("file")
            if isinstance(file, str) and file.startswith(prefix):
                found.append(Path(file).stem)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return found


def run_notebook(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    parameters: Mapping[str, Any] | None = None,
    *,
    cwd: str | os.PathLike | None = None,
    kernel_name: str | None = None,
    log_output: bool = False,
) -> Path:
    """Execute one notebook with papermill and write the executed copy atomically, made ready
    for the book (:func:`humanclap.book.publish.publish_notebook`: the injected-parameters cell
    hidden, machine paths replaced).

    Parameters
    ----------
    src, dst : path
        Source notebook and where the executed copy goes.
    parameters : mapping, optional
        Values injected after the ``parameters`` cell. Names the notebook does not declare are an
        error (papermill itself would only warn).
    cwd : path, optional
        Working directory of the kernel; defaults to the source notebook's folder.
    kernel_name : str, optional
        Jupyter kernel; defaults to the one in the notebook's metadata.
    log_output : bool
        Stream the notebook's output to the log as it runs.

    Returns
    -------
    Path
        ``dst``. The kernel ran with :func:`humanclap.runtime.cpu_pin_env` in its environment.

    Raises
    ------
    NotebookError
        On an unknown parameter or a failing cell; the failed notebook is kept as
        ``<dst stem>.failed.ipynb``.
    """
    import papermill as pm  # lazy: papermill takes a second to import

    src, dst = Path(src), Path(dst)
    declared = declared_parameters(src)
    parameters = dict(parameters or {})
    error = unknown_parameters(src, parameters, declared)
    if error is not None:
        raise error
    failed = dst.with_name(dst.stem + ".failed.ipynb")
    with atomic_path(dst, keep_suffix=True) as tmp, pinned_environ():
        try:
            pm.execute_notebook(
                str(src),
                str(tmp),
                parameters=parameters,
                cwd=str(cwd or src.parent),
                kernel_name=kernel_name,
                log_output=log_output,
                progress_bar=False,
                # A kernel imports torch and humanclap before it answers: on a loaded 2-core
                # machine (tests in parallel) that took over papermill's default 60 s.
                start_timeout=KERNEL_START_TIMEOUT_S,
            )
        except pm.PapermillExecutionError as exc:
            os.replace(tmp, failed)
            raise NotebookError(
                f"{src}: cell {exc.exec_count} failed with {exc.ename}: {exc.evalue} "
                f"(executed notebook kept at {failed})"
            ) from exc
        publish_notebook(tmp, root=cwd or src.parent)
    failed.unlink(missing_ok=True)
    return dst


def run_notebooks(
    names: Iterable[str],
    *,
    source_dir: str | os.PathLike = "notebooks",
    output_dir: str | os.PathLike = "book/chapters",
    params: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    log_output: bool = False,
    echo: bool = True,
    cwd: str | os.PathLike | None = None,
) -> list[RunResult]:
    """Run several notebooks; a failure is recorded and the next notebook still runs.

    Parameters
    ----------
    names : iterable of str
        Notebook stems, in order.
    source_dir, output_dir : path
        Where the source notebooks are and where executed copies go.
    params : mapping, optional
        As returned by :func:`load_params`.
    overrides : mapping, optional
        Parameters applied last, to every notebook that declares them (for example ``device``).
    log_output, echo : bool
        Stream cell output; print one status line per notebook.
    cwd : path, optional
        Working directory of the kernels (default: each notebook's folder); the CLI uses the
        book's root, so that relative paths in parameters (``results_dir``) are the same as
        for a ``papermill`` call made from there.

    Returns
    -------
    list of RunResult
        One per notebook, in order.

    Raises
    ------
    NotebookError
        Before anything runs, for an override that none of ``names`` declares or a ``common``
        value that no notebook of ``source_dir`` declares, naming the closest declared name.
    """
    params = params or {"common": {}, "notebooks": {}}
    names = list(names)
    check_parameter_names(names, Path(source_dir), params, overrides or {})
    results: list[RunResult] = []
    for name in names:
        src = Path(source_dir) / f"{name}.ipynb"
        dst = Path(output_dir) / f"{name}.ipynb"
        start = time.perf_counter()
        values: dict[str, Any] = {}
        try:
            declared = declared_parameters(src)
            values = resolve_parameters(name, declared, params)
            values.update({k: v for k, v in (overrides or {}).items() if k in declared})
            if echo:
                print(f"[humanclap] running {src} {values}", flush=True)
            run_notebook(src, dst, values, cwd=cwd, log_output=log_output)
            seconds = time.perf_counter() - start
            result = RunResult(name, dst, seconds, None, values, ran_on(dst))
        except NotebookError as exc:
            result = RunResult(name, None, time.perf_counter() - start, str(exc), values)
        results.append(result)
        if echo:
            status = "ok" if result.ok else f"FAILED: {result.error}"
            if result.simulated:
                status += f"; ran on the embedded SIMULATION: {result.world.get('reason', '')}"
            cpu = result.world.get("cpu") or {}
            if cpu and not cpu.get("pinned"):
                status += (
                    f"; computed with this machine's CPU settings ({cpu.get('capability')} "
                    f"kernels, {cpu.get('threads')} threads): its numbers may differ elsewhere"
                )
            print(f"[humanclap] {name}: {status} ({result.seconds:.1f} s)", flush=True)
    return results
