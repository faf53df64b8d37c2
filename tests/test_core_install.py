"""The core install (issue 20): :mod:`humanclap.data`, :mod:`humanclap.stats`,
:mod:`humanclap.agree` and the ``humanclap agree`` command work with the ``dependencies`` of
pyproject.toml alone -- without torch or any other package of the ``clap``, ``book`` and
``browser`` extras.

- A fast check in this environment, where the extras are installed, so what is checked is what
  gets imported: importing the three modules in a fresh interpreter leaves every extra's package
  out of ``sys.modules`` (tests/test_agree.py checks that ``humanclap agree`` runs without
  torch, tests/test_cli_startup.py what the command's start imports).
- One slow check of the real thing (``make test-all``): the wheel, built from a copy of the
  source tree (not an editable install), installed into a fresh virtual environment with its core
  dependencies only (from the package index, or pip's cache). There no extra's package can be
  imported at all, the three modules can, and ``humanclap agree`` gives the XACLE baseline's
  published SRCC on the real RELATE ratings.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("clap", "book", "browser")
CORE_MODULES = ("humanclap.data", "humanclap.stats", "humanclap.agree")
#: Top-level names some wheels ship by mistake (laion_clap's ``tests``): not a package to look for.
GENERIC_NAMES = frozenset({"tests", "test", "docs", "examples"})
#: The XACLE baseline's published test-split SRCC (tests/test_agree.py checks all its numbers).
XACLE_SRCC = 0.3606


@functools.cache
def _extra_import_names() -> list[str]:
    """Top-level import names of the packages that only the extras declare (torch, laion_clap,
    transformers, papermill, ...), from humanclap's installed metadata."""
    core, extra = set(), set()
    for line in md.requires("humanclap") or []:
        req = Requirement(line)
        if req.marker is None:
            core.add(canonicalize_name(req.name))
        elif any(req.marker.evaluate({"extra": name}) for name in EXTRAS):
            extra.add(canonicalize_name(req.name))
    names = {
        module
        for module, dists in md.packages_distributions().items()
        if {canonicalize_name(d) for d in dists} & (extra - core)
        and not module.startswith("_")
        and module.isidentifier()
        and module not in GENERIC_NAMES
    }
    assert "torch" in names, f"the extras' packages were not found: {sorted(names)}"
    return sorted(names)


def _loaded_extras(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter of this environment; return the extras' top-level
    packages it left in ``sys.modules``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    return sorted(loaded & set(_extra_import_names()))


def _agree_args(predictions: Path, relate_dir: Path, out: Path, n_boot: int) -> list[str]:
    """``humanclap agree`` on the XACLE baseline's predictions for RELATE's test split."""
    return [
        "agree", str(predictions), "--pred-col", "pred_mos", "--relate-dir", str(relate_dir),
        "--out", str(out), "--n-boot", str(n_boot),
    ]  # fmt: skip


def _overall_srcc(out: Path) -> float:
    """The overall SRCC in ``out/agreement.csv`` of a ``humanclap agree`` run."""
    table = pd.read_csv(out / "agreement.csv")
    row = table[(table["grouping"] == "overall") & (table["metric"] == "srcc")]
    assert len(row) == 1, f"{out / 'agreement.csv'}: expected one overall srcc row"
    return float(row["estimate"].iloc[0])


# ----------------------------------------------------------------------------- fast: imports
def test_core_modules_import_no_extra() -> None:
    """Importing humanclap.data, humanclap.stats and humanclap.agree imports no extra's
    package (torch, transformers, laion_clap, papermill, nbformat, ...)."""
    code = "\n".join(f"import {name}" for name in CORE_MODULES)
    assert _loaded_extras(code) == []


# ----------------------------------------------------------------------------- slow: the wheel
def _run(command: list[str], what: str, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``; fail naming ``what`` with its output when it exits non-zero."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, (
        f"{what}: exit {done.returncode}\n$ {' '.join(command)}\n{done.stdout}\n{done.stderr}"
    )
    return done


def _build_wheel(folder: Path) -> Path:
    """The wheel of a copy of the source tree (pyproject.toml, README.md, humanclap/), built
    without an editable install and without touching the working tree."""
    src = folder / "src"
    src.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "humanclap", src / "humanclap", ignore=ignore)
    wheels = folder / "wheels"
    # --no-build-isolation: this environment's setuptools builds it (no download of the backend).
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    _run([*pip_wheel, "-q", str(src), "-w", str(wheels)], "pip wheel", timeout=300)
    (wheel,) = wheels.glob("humanclap-*.whl")
    return wheel


@pytest.mark.slow
def test_core_wheel_install(
    relate_dir: Path, categories_path: Path, xacle_predictions: Path, tmp_path: Path
) -> None:
    """The wheel with its core dependencies only, in a fresh virtual environment: no extra's
    package can be imported, humanclap.data, humanclap.stats and humanclap.agree can, and the
    ``humanclap`` command's ``agree`` reproduces the XACLE baseline's published SRCC."""
    wheel = _build_wheel(tmp_path / "build")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], "python -m venv", timeout=300)
    python, command = venv / "bin" / "python", venv / "bin" / "humanclap"
    install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*install, "-c", str(ROOT / "constraints.txt"), str(wheel)], "pip install", timeout=1200)

    check = textwrap.dedent(
        f"""
        import importlib.util
        present = [n for n in {_extra_import_names()!r} if importlib.util.find_spec(n)]
        assert not present, f"extras' packages in the core install: {{present}}"
        {"; ".join(f"import {name}" for name in CORE_MODULES)}
        """
    )
    _run([str(python), "-c", check], "the core install's imports", timeout=300, cwd=tmp_path)

    out = tmp_path / "out"
    env = {**os.environ, "HUMANCLAP_CATEGORIES": str(categories_path)}
    args = _agree_args(xacle_predictions, relate_dir, out, n_boot=50)
    _run([str(command), *args], "humanclap agree", timeout=600, cwd=tmp_path, env=env)
    assert round(_overall_srcc(out), 4) == XACLE_SRCC
    assert {p.name for p in out.iterdir()} >= {"agreement.csv", "report.md", "forest.png"}
