"""The pre-trained tiny CLAP of the embedded world, behind ``models.load("tiny")``.

``"tiny"`` is the one model spec that needs data and training to exist: the tiny CLAP
pre-trained on a world's natural clips (:func:`humanclap.train.pretrain.pretrain`) and cached
under a key of the world, the architecture and the recipe. :mod:`humanclap.models` knows nothing
of worlds or training, so this module, above both, provides it: :func:`load_pretrained` is
declared in ``pyproject.toml`` as the ``tiny`` entry point of the ``humanclap.pretrained``
group, which :func:`humanclap.models.load` looks up the first time ``"tiny"`` is asked for (the
way a third-party package would add a pre-trained model).

The pre-training runs with the CPU settings that give the same weights on every x86-64 CPU with
AVX2 (:func:`humanclap.runtime.cpu_pin_env`): in this process when it is pinned already (the
book's kernels are), else in a spawned process that is (a few seconds to start). With
``HUMANCLAP_PIN_CPU=0`` it runs here, as this process computes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

from humanclap.data.synthetic import ensure_world, world_fingerprint, world_key
from humanclap.models.tiny import TinyClap, TinyConfig
from humanclap.runtime import cpu_numerics_pinned, cpu_pin_env, pin_cpu_numerics, pinned_environ
from humanclap.train.pretrain import PRETRAIN_DEFAULTS, PRETRAIN_VERSION, pretrain
from humanclap.utils import cache_dir as cache_folder
from humanclap.utils import stable_hash, user_cache_dir, want_progress

__all__ = ["load_pretrained", "pretrain_pinned", "pretrained_cache_path"]

log = logging.getLogger(__name__)


def pretrained_cache_path(
    world_root: str | os.PathLike,
    config: TinyConfig | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    **recipe: Any,
) -> Path:
    """``<cache>/models/tiny-<hash>.pt`` for this world, architecture, recipe and CPU settings
    (:func:`humanclap.runtime.cpu_pin_env`: pinned, or this machine's with ``HUMANCLAP_PIN_CPU=0``).

    ``<cache>`` is ``cache_dir`` or :func:`humanclap.utils.user_cache_dir`
    (``$HUMANCLAP_CACHE``, else ``$XDG_CACHE_HOME/humanclap``, else ``~/.cache/humanclap``).
    """
    cfg = config or TinyConfig()
    unknown = sorted(set(recipe) - set(PRETRAIN_DEFAULTS))
    if unknown:
        raise TypeError(
            f"unknown pre-training argument(s) {unknown}; valid: {sorted(PRETRAIN_DEFAULTS)}"
        )
    full_recipe = {**PRETRAIN_DEFAULTS, **recipe, "seed": seed, "version": PRETRAIN_VERSION}
    key = stable_hash(
        {"arch": cfg.to_dict(), "recipe": full_recipe, "world": world_fingerprint(world_root),
         "cpu": cpu_pin_env()}  # a model trained with the book's CPU settings or without them
    )  # fmt: skip
    base = Path(cache_dir) if cache_dir is not None else user_cache_dir()
    return base / "models" / f"tiny-{key}.pt"


def load_pretrained(
    world: str | os.PathLike | None = None,
    config: TinyConfig | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    progress: bool | None = None,
    **recipe: Any,
) -> TinyClap:
    """The pre-trained tiny CLAP of a world, from the cache or trained now (then cached).

    Parameters
    ----------
    world : path-like, optional
        World root; default: the embedded synthetic world
        (:func:`humanclap.data.synthetic.ensure_world`).
    config, seed, **recipe
        Architecture and pre-training recipe (defaults: :class:`TinyConfig`,
        :data:`PRETRAIN_DEFAULTS`); all enter the cache key together with the world fingerprint.
    cache_dir : path-like, optional
        Cache root (see :func:`pretrained_cache_path`).
    progress : bool or None
        A progress bar while training (None: when stderr is a terminal).
    """
    if world is None and not (cache_folder("worlds") / world_key(0) / "world.json").is_file():
        _say(progress, "building the simulated world (first use only; typically 20-40 s)")
    root = Path(world) if world is not None else Path(ensure_world())
    path = pretrained_cache_path(root, config, seed, cache_dir, **recipe)
    if path.is_file():
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            return TinyClap.from_checkpoint(ckpt["spec"], ckpt["config"], ckpt["state_dict"])
        except Exception as err:  # noqa: BLE001 - a broken cache entry is rebuilt
            log.warning("%s: unreadable cached model (%s); training it again", path, err)
    log.info("pre-training the tiny CLAP on %s (cache: %s)", root, path)
    full = {**PRETRAIN_DEFAULTS, **recipe}
    _say(
        progress,
        f"pre-training the tiny CLAP for {full['num_epochs']} epochs (first use only; typically "
        f"1-2 min on a CPU), then cached in {path}",
    )
    start = time.perf_counter()
    model = pretrain_pinned(root, config, seed=seed, progress=want_progress(progress), **full)
    model.save(path)
    _say(progress, f"pre-trained the tiny CLAP in {time.perf_counter() - start:.0f} s")
    return model


def _say(progress: bool | None, message: str) -> None:
    """One line on stderr about long first-time work, when progress is shown
    (:func:`humanclap.utils.want_progress`)."""
    if want_progress(progress):
        print(f"humanclap: {message}", file=sys.stderr, flush=True)


def _pretrain_here(*args: Any, **kwargs: Any) -> TinyClap:
    """:func:`pretrain` in a freshly spawned process, pinned before its first computation."""
    pin_cpu_numerics()
    return pretrain(*args, **kwargs)


def pretrain_pinned(
    world_root: str | os.PathLike,
    config: TinyConfig | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> TinyClap:
    """:func:`humanclap.train.pretrain.pretrain` with the book's CPU settings: here when this
    process has them (:func:`humanclap.runtime.cpu_numerics_pinned`) or pinning is off
    (``HUMANCLAP_PIN_CPU=0``), else in one spawned process that has them."""
    if not cpu_pin_env() or cpu_numerics_pinned():
        return pretrain(world_root, config, seed=seed, **kwargs)
    log.info("pre-training in a spawned process with the book's CPU settings")
    context = multiprocessing.get_context("spawn")
    with pinned_environ(), ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(_pretrain_here, world_root, config, seed=seed, **kwargs).result()
