"""Keeping renamed keyword arguments working for a while, with a warning."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["moved_names", "renamed_arguments", "warn_moved_module"]

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


def moved_names(module: str, moved: Mapping[str, tuple[str, Any]]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for names that moved elsewhere.

    Use as ``__getattr__ = moved_names(__name__, {"old": ("new.module", obj)})``: reading
    ``module.old`` warns (``DeprecationWarning``) and returns ``obj``.
    """

    def __getattr__(name: str) -> Any:
        if name in moved:
            where, obj = moved[name]
            warnings.warn(
                f"{module}.{name} is deprecated: use {where}.{name}",
                DeprecationWarning,
                stacklevel=2,
            )
            return obj
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def warn_moved_module(old: str, new: str) -> None:
    """Warn that the module ``old`` is a deprecated alias of ``new`` (call at its import)."""
    warnings.warn(f"{old} is deprecated: use {new} (same names)", DeprecationWarning, stacklevel=3)
