"""Shared by the benchmark scripts: a sandbox under gunicorn, Redis and a Celery worker on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def base_env(**extra: str) -> dict[str, str]:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database the benchmark may migrate.")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sandbox_site.settings",
        "DJANGO_DEBUG": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sandbox")]),
        "WA_APP_SECRET": "bench-app-secret",
        "WA_VERIFY_TOKEN": "bench-verify",
    }
    env.update(extra)
    return env


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path[:0] = [str(ROOT), str(ROOT / "sandbox")]
    import django

    django.setup()


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [PYTHON, str(ROOT / "sandbox" / "manage.py"), "migrate", "--noinput", "-v", "0"], env=env, check=True
    )


@contextmanager
def redis():
    port = free_port()
    directory = tempfile.mkdtemp(prefix="wa-bench-redis-")
    proc = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            directory,
        ],
        stdout=subprocess.DEVNULL,
    )
    wait_port(port)
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def gunicorn(env: dict[str, str], workers: int = 2, threads: int = 4):
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "sandbox_site.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT / "sandbox",
        env=env,
    )
    wait_port(port)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(20)


@contextmanager
def celery_worker(env: dict[str, str], concurrency: int = 2):
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "sandbox_site",
            "worker",
            "-l",
            "warning",
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT / "sandbox",
        env=env,
    )
    time.sleep(4)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:  # a warm shutdown waits for a batch the test no longer needs
            proc.kill()
            proc.wait(10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


_CANNED_SERVER = r"""
import asyncio, json, sys, uuid

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            body = json.dumps({"messaging_product": "whatsapp",
                               "messages": [{"id": "wamid.CANNED" + uuid.uuid4().hex}]}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


@contextmanager
def canned_graph_api():
    """A loopback server that accepts every send with a fresh wamid and checks nothing: sending to
    it measures the dispatcher's own ceiling, with no stand-in for Meta sharing the CPU's work."""
    port = free_port()
    proc = subprocess.Popen([PYTHON, "-c", _CANNED_SERVER, str(port)])
    wait_port(port)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
