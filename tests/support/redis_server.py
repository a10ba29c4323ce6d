"""A redis-server of the test's own on a loopback port, that a test can stop, restart
(empty or from its dump) and freeze (SIGSTOP: it accepts connections, never answers).

Needs the ``redis-server`` binary (Debian: ``apt-get install -y redis-server``) and
redis-py; every wait is bounded.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["REDIS_SERVER", "RedisServer"]

REDIS_SERVER = shutil.which("redis-server")
"""The redis-server binary, or None."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One redis-server on 127.0.0.1, its data in ``directory`` (``dump.rdb``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, from_dump: bool = False) -> None:
        """Start (again, on the same port), empty unless ``from_dump``."""
        import redis

        dump = self.directory / "dump.rdb"
        if not from_dump and dump.exists():
            dump.unlink()
        assert REDIS_SERVER is not None
        self._process = subprocess.Popen(
            [
                *(REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        try:
            for _ in range(200):
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    time.sleep(0.05)
            raise AssertionError("redis-server did not start")
        finally:
            client.close()

    def save(self) -> None:
        """Write the dump now (what a restart ``from_dump`` loads)."""
        import redis

        with redis.Redis.from_url(self.url, socket_timeout=2) as client:
            client.save()

    def stop(self) -> None:
        """Stop it (SIGKILL: no save at exit), if running."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGCONT)  # a frozen one must be able to die
        process.kill()
        process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: connections are still accepted by the kernel, nothing is answered."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT."""
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)
