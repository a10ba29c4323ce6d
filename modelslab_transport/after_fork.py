"""Resetting locks and work in progress in a forked child (``os.fork`` copies held locks)."""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["ForkAware", "reset_in_forked_child"]


class ForkAware(Protocol):
    """An object that can put itself right in a forked child."""

    def after_fork(self) -> None:
        """Called in the child, once, right after the fork: new locks, no parent's work."""


_AWARE: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def reset_in_forked_child(obj: ForkAware) -> None:
    """Have ``obj.after_fork()`` called in every child forked from now on (held weakly)."""
    _AWARE.add(obj)


def _after_in_child() -> None:
    for obj in list(_AWARE):
        obj.after_fork()


os.register_at_fork(after_in_child=_after_in_child)
