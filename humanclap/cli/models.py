"""``humanclap models``: the model specs ``--model`` takes, read from the registry.

The spec forms are those the registered backends declare
(:func:`humanclap.models.valid_spec_forms`); the released checkpoints are LAION-CLAP's
(:data:`humanclap.models.laion.CHECKPOINTS`) and the Human-CLAP study's
(:data:`humanclap.models.hub_pins.HUMAN_CLAP_REPOS`); the pre-trained models are the entry
points of the ``humanclap.pretrained`` group (:data:`humanclap.models.PRETRAINED_GROUP`).
"""

from __future__ import annotations

import argparse
from importlib import metadata

from humanclap import models
from humanclap.models.hub_pins import HUMAN_CLAP_REPOS
from humanclap.models.laion import CHECKPOINTS

__all__ = ["listing", "run"]


def listing() -> list[str]:
    """The lines ``humanclap models`` prints."""
    pretrained = sorted(
        {p.name for p in metadata.entry_points(group=models.PRETRAINED_GROUP)}
        | set(models.PRETRAINED)
    )
    lines = ["Model specs (--model):"]
    lines += [f"  {form}" for form in models.valid_spec_forms()]
    lines += ["", "Pre-trained models (trained on first use, then cached):"]
    lines += [f"  {name}" for name in pretrained]
    lines += ["", "Released LAION-CLAP checkpoints (downloaded on first use):"]
    lines += [f"  laion:{name}" for name in CHECKPOINTS]
    lines += ["", "Released Human-CLAP checkpoints (Hugging Face Hub, downloaded on first use):"]
    lines += [f"  hf:{repo}" for repo in HUMAN_CLAP_REPOS]
    return lines


def run(args: argparse.Namespace) -> int:
    """Print :func:`listing`; exit status 0."""
    print("\n".join(listing()))
    return 0
