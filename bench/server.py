"""Throwaway instances and gunicorn servers for the benchmarks (127.0.0.1 only).

Every server started here is registered and stopped at exit, on error and on SIGINT/SIGTERM:
a benchmark never leaves a gunicorn behind. Only the process groups started here are signalled.
"""
from __future__ import annotations

import atexit
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import log

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# A production-like public base URL: the QR text (and so its length and QR version) carries it.
# Verifiers take the token from the last path segment and never look at the host.
PUBLIC_BASE_URL = "https://ecert.example.gov.vn"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# BENCH_PG_DB: another database name, so two benches on one PostgreSQL do not share (and drop) one.
PG_BENCH_DB = os.environ.get("BENCH_PG_DB", "ecert_bench")
PG_BENCH_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
PG_BENCH_DSN = f"postgresql://postgres@127.0.0.1:5432/{PG_BENCH_DB}"

_RUNNING: list["Server"] = []


def _cleanup() -> None:
    for server in list(_RUNNING):
        server.stop()


def _on_signal(signum: int, _frame: Any) -> None:
    _cleanup()
    raise SystemExit(128 + signum)


atexit.register(_cleanup)
for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Instance:
    """An ECERT_INSTANCE_DIR under the run's temp folder, on SQLite or on PostgreSQL."""

    def __init__(self, root: Path, name: str, database_url: str | None = None) -> None:
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or f"sqlite:///{self.dir / 'ecert.sqlite3'}"
        self.secret_key = secrets.token_urlsafe(32)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        return self.dir / "ecert.sqlite3"

    @property
    def idp_dir(self) -> Path:
        return self.dir / "idp"

    def env(self, **extra: str) -> dict[str, str]:
        # The caller's ECERT_* (e.g. the Makefile's ECERT_INSTANCE_DIR) must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ECERT_")}
        env.update({
            "ECERT_ENV": "development",
            "ECERT_INSTANCE_DIR": str(self.dir),
            "ECERT_DATABASE_URL": self.database_url,
            "ECERT_SECRET_KEY": self.secret_key,
            "ECERT_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "ECERT_RATE_LIMITS": "off",
            "ECERT_LOG_JSON": "off",
            "ECERT_AUTO_ISSUE": "on",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(extra)
        return env

    def flask(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "ecert", *args]
        done = subprocess.run(cmd, cwd=ROOT, env=self.env(), input=stdin, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"`flask ecert {' '.join(args)}` failed ({done.returncode}):\n"
                               f"{done.stderr[-2000:]}{done.stdout[-1000:]}")
        return done.stdout

    def init(self) -> None:
        self.flask("init", "--json")
        self.flask("seed-demo", "--json")

    def apply_to_process(self) -> None:
        """Point this Python process at the instance (for in-process measurements)."""
        for key in [k for k in os.environ if k.startswith("ECERT_")]:
            del os.environ[key]
        os.environ.update({k: v for k, v in self.env().items() if k.startswith("ECERT_")})


_CONTROL_OPTION: dict[str, bool] = {}


def _has_control_socket_option(executable: str) -> bool:
    if executable not in _CONTROL_OPTION:
        try:
            done = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=30)
            _CONTROL_OPTION[executable] = "--control-socket" in done.stdout
        except (OSError, subprocess.TimeoutExpired):
            _CONTROL_OPTION[executable] = False
    return _CONTROL_OPTION[executable]


class Server:
    """``gunicorn -c gunicorn.conf.py wsgi:app`` on a free 127.0.0.1 port."""

    def __init__(self, instance: Instance, name: str, *, workers: int = 2, auto_issue: bool = True,
                 extra_env: dict[str, str] | None = None) -> None:
        self.instance = instance
        self.extra_env = dict(extra_env or {})
        self.name = name
        self.workers = workers
        self.auto_issue = auto_issue
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = instance.dir.parent / f"server-{name}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

    def start(self, ready_timeout: float = 90) -> None:
        self.port = free_port()
        env = self.instance.env(
            ECERT_BIND=f"127.0.0.1:{self.port}",
            ECERT_WORKERS=str(self.workers),
            ECERT_AUTO_ISSUE="on" if self.auto_issue else "off",
            **self.extra_env,
        )
        gunicorn = BIN / "gunicorn"
        cmd = [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
        cmd += ["-c", "gunicorn.conf.py"]
        if _has_control_socket_option(cmd[0]):
            # gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl):
            # every master on the machine would share it, and a `gunicornc` aimed at someone
            # else's server would reach this one. Command-line settings override the config file.
            cmd += ["--control-socket", str(self.instance.dir.parent / f"gunicorn-{self.name}.ctl")]
        cmd += ["wsgi:app"]
        logfile = open(self.log_path, "ab")
        log(f"starting gunicorn ({self.name}, {self.workers} workers, auto-issue "
            f"{'on' if self.auto_issue else 'off'}) on 127.0.0.1:{self.port}; log in {self.log_path}")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=logfile, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        logfile.close()
        _RUNNING.append(self)
        deadline = time.monotonic() + ready_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}:\n"
                                   + self.tail())
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn not ready after {ready_timeout:.0f} s ({last}); see {self.log_path}")

    def ensure_running(self) -> str | None:
        """Restart the server if something outside the bench stopped it; say so."""
        if self.proc is not None and self.proc.poll() is None:
            return None
        code = self.proc.returncode if self.proc is not None else None
        self.stop()
        self.start()
        return (f"the {self.name} server had stopped (exit {code}; a signal from outside the bench, e.g. a "
                f"`pkill gunicorn` on this shared machine) and was restarted")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        if self in _RUNNING:
            _RUNNING.remove(self)
        if proc.poll() is not None:
            return
        try:
            # The gunicorn master leads its own session (start_new_session): signal that group only.
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        log(f"stopped gunicorn ({self.name})")


# --- PostgreSQL ----------------------------------------------------------------------------------


def postgres_reason_unavailable() -> str | None:
    """None when the bench database can be prepared, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure: skip PostgreSQL figures
        return f"PostgreSQL at 127.0.0.1:5432 unreachable ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})"
    return None


def reset_postgres() -> str:
    """Create ecert_bench if missing and drop its public schema; return the server version."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_BENCH_DB,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
        version = conn.execute("SHOW server_version").fetchone()[0]
    with psycopg.connect(PG_BENCH_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return str(version)


def drop_postgres_data() -> None:
    """Free the disk the scale rows took (the database itself stays, empty)."""
    import psycopg

    try:
        with psycopg.connect(PG_BENCH_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
    except Exception as exc:  # noqa: BLE001
        log(f"could not empty {PG_BENCH_DB}: {exc}")


def pg_sizes() -> dict[str, int]:
    import psycopg

    with psycopg.connect(PG_BENCH_DSN, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT pg_total_relation_size('certificates'), pg_database_size(current_database()), "
            "(SELECT count(*) FROM certificates)"
        ).fetchone()
    return {"certificates": int(row[0]), "database": int(row[1]), "count": int(row[2])}


def sqlite_bytes(path: Path) -> int:
    """The SQLite database's size after a WAL checkpoint (main file + what is left in the WAL)."""
    import sqlite3

    try:
        conn = sqlite3.connect(str(path), timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log(f"sqlite checkpoint failed: {exc}")
    total = 0
    for suffix in ("", "-wal"):
        p = Path(str(path) + suffix)
        if p.exists():
            total += p.stat().st_size
    return total
