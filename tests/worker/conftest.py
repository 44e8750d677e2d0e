"""A real Redis broker and real Celery worker processes for the end-to-end delivery tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from kombu import pools as kombu_pools

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """CI's Redis (REDIS_URL) is used as is; otherwise a private redis-server on a free port."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.dir = tempfile.mkdtemp(prefix="wa-redis-")
        self.port = _free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run ./scripts/test, which installs it")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _can_connect(self.port), 10, "redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        _wait(lambda: not _can_connect(self.port), 10, "redis-server did not stop")


def _can_connect(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _wait(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(message)


class Worker:
    def __init__(self, broker_url: str) -> None:
        self.broker_url = broker_url
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="wa-worker-", suffix=".log", delete=False)

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sandbox")]),
            "CELERY_BROKER_URL": self.broker_url,
            "WA_TEST_WORKER_DB": str(connection.settings_dict["NAME"]),
        }
        if connection.vendor == "postgresql":
            env["DATABASE_URL"] = _postgres_url()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sandbox_site",
                "worker",
                "--pool",
                "solo",
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _wait(
            lambda: b"ready" in Path(self.log.name).read_bytes() or self.proc.poll() is not None,
            60,
            "the Celery worker did not become ready",
        )
        assert self.proc.poll() is None, Path(self.log.name).read_text()[-3000:]

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acks, like a crash or an OOM kill."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def _postgres_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s.get('PASSWORD') or ''}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery_broker(redis_server, monkeypatch):
    """Point this process's Celery app at the real broker (it is eager for every other test)."""
    from sandbox_site.celery import app

    # Celery reads the broker URL from the CELERY_BROKER_URL environment variable before its config.
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)
    saved = {
        k: app.conf[k]
        for k in ("task_always_eager", "broker_url", "broker_transport_options", "broker_connection_timeout")
    }
    app.conf.update(
        task_always_eager=False,
        broker_url=redis_server.url,
        broker_transport_options={"max_retries": 0, "socket_connect_timeout": 1},
        broker_connection_timeout=1,
    )
    reset_broker_connections(app)
    yield redis_server
    reset_broker_connections(app)
    app.conf.update(saved)


def reset_broker_connections(app) -> None:
    """Drop pooled broker connections so the next publish connects afresh (new URL, restarted Redis)."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    kombu_pools.reset()  # kombu keeps producer pools per connection in a global registry


@pytest.fixture
def worker_factory(celery_broker):
    workers: list[Worker] = []

    def make() -> Worker:
        worker = Worker(celery_broker.url)
        workers.append(worker)
        worker.start()
        return worker

    yield make
    for worker in workers:
        worker.stop()
