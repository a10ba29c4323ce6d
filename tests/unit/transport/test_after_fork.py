"""Objects registered for a fork have ``after_fork()`` called in the child, held weakly."""

from __future__ import annotations

import gc
import os
import sys

import pytest

from modelslab_transport import after_fork
from modelslab_transport.after_fork import reset_in_forked_child


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def after_fork(self) -> None:
        self.calls += 1


def test_registered_objects_are_reset_by_the_child_handler() -> None:
    counter = Counter()
    reset_in_forked_child(counter)
    after_fork._after_in_child()
    assert counter.calls == 1


def test_objects_are_held_weakly() -> None:
    counter = Counter()
    reset_in_forked_child(counter)
    before = len(after_fork._AWARE)
    del counter
    gc.collect()
    assert len(after_fork._AWARE) == before - 1


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="needs os.fork")
def test_a_forked_child_calls_after_fork_once() -> None:
    counter = Counter()
    reset_in_forked_child(counter)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the count and leave at once
        os.write(write, str(counter.calls).encode())
        os._exit(0)
    os.close(write)
    reported = os.read(read, 16)
    os.close(read)
    os.waitpid(pid, 0)
    assert reported == b"1"
    assert counter.calls == 0  # the parent's object is untouched
