"""The one place that decides whether humanclap may use the network.

Two switches, read from the environment at every call:

- ``$HUMANCLAP_OFFLINE`` forbids every download humanclap makes (RELATE's files, the category
  table, LAION checkpoints, tokenizer files, Hugging Face repositories). It is read at every
  call, unlike ``$HF_HUB_OFFLINE``, which huggingface_hub itself reads once, when imported.
- ``$HF_HUB_OFFLINE`` / ``$TRANSFORMERS_OFFLINE``, the Hugging Face switches, also forbid what
  goes through the Hugging Face hub (``hub=True``): repositories, LAION checkpoints and
  tokenizer files, which :mod:`humanclap.models.hub_fetch` then takes from the Hugging Face
  cache alone (``local_files_only=True``). They do not stop the plain HTTPS downloads of
  RELATE's files (the Makefile sets ``HF_HUB_OFFLINE=1`` so that no Hub request is made, while
  RELATE's checksummed downloads stay possible).

A value of ``1``, ``true``, ``yes`` or ``on`` (any case) turns a switch on.
"""

from __future__ import annotations

import os

__all__ = ["ENV_OFFLINE", "HUB_OFFLINE_VARS", "env_flag", "is_offline", "offline_reason"]

#: humanclap's own switch.
ENV_OFFLINE = "HUMANCLAP_OFFLINE"
#: The Hugging Face switches, honoured for what goes through the hub.
HUB_OFFLINE_VARS: tuple[str, ...] = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")

_TRUE = ("1", "true", "yes", "on")


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to 1/true/yes/on (any case)."""
    return os.environ.get(name, "").strip().lower() in _TRUE


def _switches(hub: bool) -> tuple[str, ...]:
    return (ENV_OFFLINE, *HUB_OFFLINE_VARS) if hub else (ENV_OFFLINE,)


def is_offline(hub: bool = False) -> bool:
    """Whether downloads are forbidden.

    Parameters
    ----------
    hub : bool
        Also honour the Hugging Face switches (for downloads through the Hugging Face hub).
    """
    return any(env_flag(name) for name in _switches(hub))


def offline_reason(hub: bool = False) -> str:
    """The switches that are on, e.g. ``"$HUMANCLAP_OFFLINE=1"`` (``"online"`` when none)."""
    names = [f"${n}={os.environ[n]}" for n in _switches(hub) if env_flag(n)]
    return ", ".join(names) or "online"
