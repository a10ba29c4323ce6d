"""The sync watchdog: shuts a socket down when its guarded block overruns, and survives."""

from __future__ import annotations

import socket
import threading
import time

from modelslab_transport.http.watchdog import SocketWatchdog


def _watchdog_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "modelslab-watchdog"]


def test_a_blocked_read_ends_when_its_deadline_passes() -> None:
    watchdog = SocketWatchdog()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(10)
        with watchdog.guard(ours, 0.05):
            assert ours.recv(1) == b""  # shut down under the read: it returns at once


def test_a_guard_longer_than_the_os_can_wait_does_not_kill_the_thread() -> None:
    watchdog = SocketWatchdog()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        before = set(_watchdog_threads())
        with watchdog.guard(ours, 1e12):  # beyond threading.TIMEOUT_MAX
            time.sleep(0.2)  # the thread now waits for this deadline
        (thread,) = set(_watchdog_threads()) - before  # this watchdog's own thread
        assert thread.is_alive()
        ours.settimeout(10)
        with watchdog.guard(ours, 0.05):  # the same watchdog still interrupts reads
            assert ours.recv(1) == b""


def test_an_earlier_deadline_wakes_a_thread_waiting_for_a_later_one() -> None:
    watchdog = SocketWatchdog()
    late, late_peer = socket.socketpair()
    ours, theirs = socket.socketpair()
    with late, late_peer, ours, theirs, watchdog.guard(late, 60):
        time.sleep(0.1)  # the thread now waits for the 60 s deadline
        ours.settimeout(10)  # were the thread not woken, recv would time out instead
        with watchdog.guard(ours, 0.05):
            assert ours.recv(1) == b""
        late.setblocking(False)
        assert late.send(b"x") == 1  # the later guard's socket is untouched


def test_ended_guards_do_not_pile_up() -> None:
    watchdog = SocketWatchdog()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        for _ in range(10_000):  # calls that ended long before their 300 s deadline
            with watchdog.guard(ours, 300):
                pass
        assert len(watchdog._due) <= 64 + 1  # their entries were dropped along the way
