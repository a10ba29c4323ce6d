"""What a forked child must not inherit: held locks, and the parent's work in progress.

``os.fork()`` copies the parent's memory as it is, but only the calling thread. A lock
that another thread of the parent held at that moment stays held in the child, where
no thread will ever release it: the child's first call that needs it waits forever.
(A multi-threaded parent that forks, as Gunicorn, Celery and ``multiprocessing``'s
default start method on Linux do, meets this one fork in many.) Objects whose locks a
call takes register with :func:`reset_in_forked_child`; one handler, installed with
``os.register_at_fork``, calls their ``after_fork()`` in the child before anything else
runs there. Module-level state registers its own handler next to its definition.
"""

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
    """Have ``obj.after_fork()`` called in every child this process forks from now on.

    Held weakly: an object that is collected is forgotten.
    """
    _AWARE.add(obj)


def _after_in_child() -> None:
    for obj in list(_AWARE):
        obj.after_fork()


os.register_at_fork(after_in_child=_after_in_child)
