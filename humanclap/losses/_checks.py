"""The argument checks every loss shares (pure tensors); each names the offending argument."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["check_mask", "check_positive", "check_scale", "check_vector"]


def check_vector(
    x: Tensor | Sequence[float], name: str, n: int, like: Tensor, *, unit_interval: bool
) -> Tensor:
    """Return ``x`` as a tensor of shape ``(n,)`` (dtype/device of ``like``) after checks.

    Parameters
    ----------
    x : Tensor or sequence of float, shape (n,)
    name : str
        The argument's name, for the error messages.
    n : int
        The batch size.
    like : Tensor
        Gives the dtype and device.
    unit_interval : bool
        True: every value must lie in [0, 1] (scores); False: every value must be >= 0
        (weights).
    """
    x = torch.as_tensor(x, dtype=like.dtype, device=like.device)
    if x.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},) to match the batch, got {tuple(x.shape)}")
    bad = ~torch.isfinite(x)
    if bad.any():
        where = torch.nonzero(bad).flatten().tolist()
        raise ValueError(
            f"{name}: {len(where)} of {n} values are NaN or infinite (positions {where[:10]})"
        )
    if unit_interval:
        out = (x < 0) | (x > 1)
        if out.any():
            where = torch.nonzero(out).flatten().tolist()
            raise ValueError(
                f"{name}: {len(where)} of {n} values lie outside [0, 1] (positions {where[:10]}, "
                f"min {x.min().item():.4g}, max {x.max().item():.4g})"
            )
    elif (x < 0).any():
        raise ValueError(f"{name}: weights must be >= 0, got min {x.min().item():.4g}")
    return x


def check_scale(logit_scale: Tensor | float, like: Tensor) -> Tensor:
    """``logit_scale`` as a 0-d tensor (dtype/device of ``like``): finite and > 0."""
    scale = torch.as_tensor(logit_scale, dtype=like.dtype, device=like.device)
    if scale.numel() != 1:
        raise ValueError(f"logit_scale: expected a scalar, got shape {tuple(scale.shape)}")
    scale = scale.reshape(())
    if not torch.isfinite(scale) or scale <= 0:
        raise ValueError(f"logit_scale: expected a finite positive scalar, got {scale.item()!r}")
    return scale


def check_mask(mask: Tensor | None, n: int, device: torch.device) -> Tensor | None:
    """A false-negative mask of shape (n, n), bool, with a False diagonal (or None)."""
    if mask is None:
        return None
    mask = torch.as_tensor(mask, device=device)
    if mask.dtype != torch.bool:
        raise ValueError(f"mask: expected a bool tensor (True = exclude), got {mask.dtype}")
    if mask.shape != (n, n):
        raise ValueError(f"mask: expected shape ({n}, {n}), got {tuple(mask.shape)}")
    if mask.diagonal().any():
        where = torch.nonzero(mask.diagonal()).flatten().tolist()
        raise ValueError(
            f"mask: the diagonal (the positive pairs) must not be masked; "
            f"True at positions {where[:10]}"
        )
    return mask


def check_positive(value: float, name: str) -> float:
    """``value`` as a float after checking that it is a finite number > 0 (not a bool)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return float(value)
