"""Shared pytest fixtures.

Every test runs with a private, empty download cache (``$HUMANCLAP_CACHE``) and with
``$HUMANCLAP_OFFLINE=1``, so nothing in a test can reach the internet or touch the user's
cache. A test that exercises downloads (against a loopback server) must
``monkeypatch.delenv("HUMANCLAP_OFFLINE")`` itself.

The real RELATE ratings, the category table and the AudioSet ontology are found through
``$HUMANCLAP_RELATE_DIR``, ``$HUMANCLAP_CATEGORIES`` and ``$HUMANCLAP_ONTOLOGY``, else in
``../shared`` beside the project root; the fixtures :func:`relate_dir`, :func:`categories_path`
and :func:`ontology_path` skip the test when neither exists. So does
:func:`xacle_predictions` (``$HUMANCLAP_XACLE_PREDICTIONS``, else
``../shared/xacle-baseline/inference_results.csv``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from humanclap.runtime import pin_cpu_numerics

# The tests compute as the book does (torch's, oneDNN's and MKL's AVX2 kernels, one thread;
# humanclap.runtime), before any tensor operation: a run here equals the same run in a worker.
pin_cpu_numerics()

from humanclap import models  # noqa: E402
from humanclap.data import load_relate, pair_table  # noqa: E402
from humanclap.data import synthetic as S  # noqa: E402
from humanclap.models.tiny import TinyConfig  # noqa: E402

_SHARED = Path(__file__).resolve().parents[1].parent / "shared"
_CATEGORIES_FILE = "tempo_notempo_2_2024-12-11.csv"


def load_script(path: str, name: str | None = None) -> ModuleType:
    """A script of the repository that is not part of the package (``tools/``, ``bench/``,
    ``tests/browser/``, ``book/_ext/``) imported as a module, registered in ``sys.modules`` under
    ``name`` (default its stem; dataclasses need that).

    Parameters
    ----------
    path : str
        Relative to the repository's root.
    """
    file = Path(__file__).resolve().parents[1] / path
    spec = importlib.util.spec_from_file_location(name or file.stem, file)
    assert spec is not None and spec.loader is not None, file
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def torch_threads(wanted: int) -> int:
    """Threads a test may give torch: ``wanted``, at most this process's share of the CPUs it
    may run on (``make test`` runs ``$PYTEST_XDIST_WORKER_COUNT`` pytest-xdist workers, each
    computing on one thread; more threads than cores would only make them wait for each other)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1, min(wanted, (cpus or 1) // workers))


#: Modules whose tests share no module-scoped fixture and each take long (papermill runs): under
#: pytest-xdist their tests are spread over the workers one by one.
_SPREAD_MODULES = frozenset({"test_notebooks"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup`` (make test), keep each module's tests on one worker, so that
    its module-scoped fixtures (worlds, pre-trained models, loopback Hubs) are built once, as
    ``--dist loadscope`` does; but spread :data:`_SPREAD_MODULES`' tests, which loadscope would
    queue on one worker (the notebooks' smoke runs, about 400 s in a row)."""
    for item in items:
        module = item.module.__name__ if item.module is not None else item.nodeid
        if module not in _SPREAD_MODULES:
            item.add_marker(pytest.mark.xdist_group(module))


@pytest.fixture(autouse=True)
def _isolated_offline_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("HUMANCLAP_CACHE", str(tmp_path_factory.mktemp("humanclap-cache")))
    monkeypatch.setenv("HUMANCLAP_OFFLINE", "1")
    yield
    if "huggingface_hub" in sys.modules:  # a test that went online leaves no online session
        monkeypatch.undo()
        from hub_server import reset_hub_sessions

        reset_hub_sessions()


def _real_path(env: str, fallback: Path, what: str) -> Path:
    value = os.environ.get(env)
    if value:
        path = Path(value).expanduser()
        if not path.exists():
            pytest.fail(f"${env}={value} does not exist")
        return path
    if fallback.exists():
        return fallback
    pytest.skip(f"{what} not found: set ${env} or provide {fallback}")


@pytest.fixture(scope="session")
def make_world(tmp_path_factory: pytest.TempPathFactory):
    """``make_world(n_captions, clip_seconds)``: a simulated world in RELATE's layout, made once
    per session for each size (the fine-tuning tests share them)."""
    made: dict[tuple[int, float], Path] = {}

    def make(n_captions: int, clip_seconds: float) -> Path:
        key = (int(n_captions), float(clip_seconds))
        if key not in made:
            folder = tmp_path_factory.mktemp("world") / "w"
            made[key] = S.generate(folder, n_captions=n_captions, seed=0, clip_seconds=clip_seconds)
        return made[key]

    return make


@pytest.fixture(scope="session")
def world_splits():
    """``world_splits(world, target="mean")``: the world's train and validation pairs
    (``pair_table`` with ``target``), as ``{"train": ..., "validation": ...}``."""

    def splits(world: Path, target: str = "mean") -> dict:
        ratings = load_relate(world, categories=False, download=False, verify=False)
        table = pair_table(ratings, target=target)
        return {split: table[table["split"] == split] for split in ("train", "validation")}

    return splits


#: A tiny CLAP small enough for many fine-tuning runs in a test (1-second clips).
SMALL_TINY = TinyConfig(max_seconds=1.0, channels=(8, 16), time_segments=2, d_model=32,
                        n_heads=2, ff_dim=32, head_dim=32, embed_dim=16)  # fmt: skip


@pytest.fixture(scope="session")
def small_world(make_world) -> Path:
    """A world of 60 captions with 1-second clips (for runs of the small tiny CLAP)."""
    return make_world(60, 1.0)


@pytest.fixture(scope="session")
def small_pairs(small_world: Path, world_splits) -> dict:
    """:func:`small_world`'s train and validation pairs."""
    return world_splits(small_world)


@pytest.fixture
def new_small_tiny():
    """``new_small_tiny()``: a freshly initialised small tiny CLAP (the same weights each call)."""
    return lambda: models.load("tiny:random", config=SMALL_TINY)


@pytest.fixture(scope="session")
def relate_dir() -> Path:
    """Folder with the real RELATE files (``scores/REL.csv`` ...), or skip."""
    return _real_path("HUMANCLAP_RELATE_DIR", _SHARED / "relate", "real RELATE ratings")


@pytest.fixture(scope="session")
def ontology_path() -> Path:
    """The real AudioSet ontology (``ontology.json``), or skip."""
    return _real_path(
        "HUMANCLAP_ONTOLOGY",
        _SHARED / "audioset-ontology" / "ontology.json",
        "AudioSet ontology",
    )


@pytest.fixture(scope="session")
def categories_path() -> Path:
    """The real XACLE category table (``tempo_notempo_2_2024-12-11.csv``), or skip."""
    return _real_path(
        "HUMANCLAP_CATEGORIES",
        _SHARED / "audiocaps-categories" / _CATEGORIES_FILE,
        "AudioSet category table",
    )


@pytest.fixture(scope="session")
def xacle_predictions() -> Path:
    """The XACLE baseline's predictions for RELATE's test split (``inference_results.csv``)."""
    return _real_path(
        "HUMANCLAP_XACLE_PREDICTIONS",
        _SHARED / "xacle-baseline" / "inference_results.csv",
        "XACLE baseline predictions",
    )


def _write_fake_relate(folder: Path) -> dict[str, str]:
    """Write the five RELATE files (tiny fixture versions) under folder; return their sha256."""
    rel = (
        "wavname,text,score,listener_id,audio type,anchor label,in RELATE dataset,in AudioCaps\n"
        "/audiocaps/train/11.wav,A dog barks,8,0001,natural,False,train,train\n"
        "/tango/train/11.wav,A dog barks,6,0001,tango,False,train,train\n"
        "/audiocaps/train/22.wav,A dog barks,0,0001,natural,True,excluded,\n"
    )
    isos = (
        "wavname,text,score,listener_id,audio type,anchor label,in AudioCaps\n"
        "/audiocaps/train/11.wav,A dog barks,9,10001,natural,False,train\n"
    )
    attributes = "listener_id,question1\n0001,2\n"
    files = {
        "scores/REL.csv": rel,
        "scores/IS.csv": isos,
        "scores/OS.csv": isos,
        "listener_attributes/REL.csv": attributes,
        "listener_attributes/IS_and_OS.csv": attributes.replace("0001", "10001"),
    }
    checksums = {}
    for rel_path, text in files.items():
        path = folder / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        checksums[rel_path] = hashlib.sha256(text.encode()).hexdigest()
    return checksums


@pytest.fixture
def fake_relate():
    """A function writing a tiny RELATE (five files, 3 rated wavnames) under a folder; it
    returns the files' sha256 by relative path."""
    return _write_fake_relate
