"""Keeping renamed keyword arguments working for a while, with a warning."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["renamed_arguments"]

F = TypeVar("F", bound=Callable[..., Any])


def renamed_arguments(**renames: str) -> Callable[[F], F]:
    """Accept each ``old=`` keyword argument as its new name, with a ``DeprecationWarning``.

    Example: ``@renamed_arguments(audio_root="audio_dir")`` lets callers still pass
    ``audio_root=...``. Passing both the old and the new name is a ``TypeError``.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(
                        f"{func.__name__}(): pass {new}= only ({old}= is its deprecated name)"
                    )
                warnings.warn(
                    f"{func.__name__}({old}=...) is deprecated: use {new}= (same meaning)",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
