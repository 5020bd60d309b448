"""Benchmark POST /api/v1/reports under gunicorn with deploy/gunicorn.conf.py (not a test).

    .venv/bin/python scripts/bench_reports.py [--database sqlite|postgresql|both] [--seconds 15]
        [--concurrency 16] [--workers N] [--threads N] [--pg-url postgresql://...]
        [--redis-url redis://127.0.0.1:6379/15] [--client-processes N]

For each database: a fresh database (a temporary SQLite file, or a private schema in the
PostgreSQL database of --pg-url, dropped at the end), `flask db upgrade`, gunicorn on a free
loopback port with production settings (REUNITE_ENV=production, rate limits in Redis), a warm-up,
then --seconds of load. Requests arrive as nginx would forward them, from many client addresses,
so the per-address rate limit does its work without binding. Only 201 answers count as
successes; anything else is an error. It prints a table, and as its last line one JSON object.

The load comes from a pool of client processes (one per core), each running concurrency / processes
threads; every thread has its own http.client connection (kept alive when the server allows it:
the default sync worker closes each one) and a pre-built list of synthetic reports. Threads are
enough: a client thread spends about 0.35 ms of CPU per request against about 4 ms in gunicorn, so
the GIL is not the limit, and separate processes keep client threads from queueing behind each
other. Client, gunicorn, PostgreSQL and Redis share this machine's cores, so the numbers are a floor
for a server with the cores to itself; the table shows how the CPU time split between them.

On the 2-core machine this was tuned on, 5 sync workers (the default, 2 x cores + 1) beat 2, 3, 4
and 8 workers and every gthread mix tried; throughput stops growing at about 8 concurrent clients.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing as mp
import os
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "gunicorn.conf.py"
BIN = Path(sys.executable).parent
PATH = "/api/v1/reports"
WARMUP_SECONDS = 3.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0
PAYLOADS_PER_PROCESS = 2000
IDEMPOTENT_SHARE = 0.2
# Requests arrive as nginx forwards them, from many clients: addresses from 198.18.0.0/15 (set
# aside for benchmarks, RFC 2544) in X-Forwarded-For. Enough of them that the production rate
# limit per address (120 reports a minute) never binds, while the limiter does its real work.
CLIENT_ADDRESSES = [f"198.18.{n // 256}.{n % 256}" for n in range(4096)]
# Settings of the calling shell that would make the server differ from the one measured.
INHERITED_SETTINGS = {"PORT", "HUEY_IMMEDIATE", "WEB_CONCURRENCY", "GUNICORN_THREADS"}

# (language, country, given name, family name, full name in the person's own order, home city)
PEOPLE = [
    ("es", "PR", "Marisol", "Quiñones Vega", "Marisol Quiñones Vega", "Yauco"),
    ("ht", "HT", "Jean-Baptiste", "Désir", "Jean-Baptiste Désir", "Jacmel"),
    ("ja", "JP", "陽菜", "佐藤", "佐藤陽菜", "石巻市"),
    ("ar", "SY", "فاطمة", "الحسن", "فاطمة الحسن", "حلب"),
    ("hi", "IN", "प्रिया", "शर्मा", "प्रिया शर्मा", "केदारनाथ"),
    ("zh", "CN", "伟", "王", "王伟", "汶川"),
    ("tr", "TR", "Ayşe", "Yılmaz", "Ayşe Yılmaz", "Kahramanmaraş"),
    ("ne", "NP", "सुनिता", "गुरुङ", "सुनिता गुरुङ", "गोरखा"),
    ("vi", "VN", "Thị Hoa", "Nguyễn", "Nguyễn Thị Hoa", "Huế"),
    ("ko", "KR", "민준", "김", "김민준", "포항"),
    ("tl", "PH", "Maria Cristina", "Dela Cruz", "Maria Cristina Dela Cruz", "Tacloban"),
    ("pt-BR", "BR", "João", "Conceição", "João da Conceição", "Brumadinho"),
    ("fa", "IR", "زهرا", "احمدی", "زهرا احمدی", "بم"),
    ("uk", "UA", "Олена", "Шевченко", "Олена Шевченко", "Харків"),
    ("el", "GR", "Γιώργος", "Παπαδόπουλος", "Γιώργος Παπαδόπουλος", "Μάτι"),
    ("am", "ET", "አበበ", "በቀለ", "አበበ በቀለ", "ደሴ"),
    ("sw", "KE", "Wanjiru", "Kamau", "Wanjiru Kamau", "Mai Mahiu"),
    ("th", "TH", "สมชาย", "ใจดี", "สมชาย ใจดี", "ตะกั่วป่า"),
    ("id", "ID", "Siti", "Rahmawati", "Siti Rahmawati", "Palu"),
    ("mi", "NZ", "Aroha", "Ngata", "Aroha Ngata", "Ōtautahi"),
]
DESCRIPTIONS = [
    "Lleva una camiseta roja 👕 y gafas.",
    "Last seen near the shelter at the school gym.",
    "Dernière fois vue au marché, robe bleue.",
    "避難所で見かけた。青いリュック 🎒",
    "Hana simu. Anatumia kiti cha magurudumu.",
    None,
]


def synthetic_report(rng: random.Random) -> dict[str, Any]:
    """One varied, valid report: names from many scripts, a fictional +1 555 phone number."""
    language, country, given, family, full, city = rng.choice(PEOPLE)
    kind = "missing" if rng.random() < 0.7 else "found"
    report: dict[str, Any] = {"kind": kind, "language": language, "home_country": country}
    shape = rng.random()
    if shape < 0.5:
        report["full_name"] = full
    elif shape < 0.85:
        report.update(given_name=given, family_name=family)
    else:
        report["alternate_names"] = [given, f"{given} {family[:1]}."]
    if rng.random() < 0.6:
        report["home_city"] = city
    if rng.random() < 0.7:
        low = rng.randrange(0, 95)
        report["age"] = str(low) if rng.random() < 0.7 else f"{low}-{low + rng.randrange(1, 10)}"
    if rng.random() < 0.5:
        report["sex"] = rng.choice(["female", "male", "other"])
    description = rng.choice(DESCRIPTIONS)
    if description:
        report["description"] = description
    if rng.random() < 0.3:
        report["lat"] = round(rng.uniform(-60, 60), 5)
        report["lon"] = round(rng.uniform(-170, 170), 5)
    report["author_name"] = rng.choice(PEOPLE)[4]
    report["author_phone"] = f"+1555{rng.randrange(10**7):07d}"
    if rng.random() < 0.2:
        report["contact_phone"] = f"+1 555 {rng.randrange(10**7):07d}"
    return report


# --- the load generator: runs in child processes ------------------------------------------------


@dataclass
class Tally:
    """What one client process saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    stale_retries: int = 0
    started: float = 0.0
    ended: float = 0.0
    cpu_seconds: float = 0.0


def _send(conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> int:
    conn.request("POST", PATH, body, headers)
    response = conn.getresponse()
    response.read()
    return response.status


def _drive(port: int, bodies: list[tuple[bytes, bool]], offset: int, deadline: float, tally: Tally):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    i = offset
    try:
        while time.monotonic() < deadline:
            body, idempotent = bodies[i % len(bodies)]
            i += 1
            headers = {
                "Content-Type": "application/json",
                "X-Forwarded-For": CLIENT_ADDRESSES[i % len(CLIENT_ADDRESSES)],
                "X-Forwarded-Proto": "https",
            }
            if idempotent:
                headers["Idempotency-Key"] = uuid.uuid4().hex
            reused = conn.sock is not None
            started = time.perf_counter()
            try:
                try:
                    status = _send(conn, body, headers)
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    # A kept-alive connection the server closed meanwhile (a worker recycled
                    # after max_requests): retry once on a fresh one, as HTTP clients do.
                    if not reused:
                        raise
                    conn.close()
                    tally.stale_retries += 1
                    status = _send(conn, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                tally.errors[type(exc).__name__] += 1
                conn.close()
                continue
            elapsed = time.perf_counter() - started
            tally.statuses[status] += 1
            if status == 201:
                tally.latencies.append(elapsed)
    finally:
        conn.close()


def client_process(
    port: int, threads: int, seconds: float, seed: int, ready: Any, go: Any, results: Any
) -> None:
    """Build payloads, wait for the start signal, drive load for `seconds`, send back a Tally."""
    rng = random.Random(seed)
    bodies = [
        (json.dumps(synthetic_report(rng)).encode(), rng.random() < IDEMPOTENT_SHARE)
        for _ in range(PAYLOADS_PER_PROCESS)
    ]
    tally = Tally()
    ready.put(os.getpid())
    if not go.wait(START_TIMEOUT):
        results.put(tally)
        return
    cpu_before = _own_cpu_seconds()
    tally.started = time.time()
    deadline = time.monotonic() + seconds
    step = len(bodies) // threads
    pool = [
        threading.Thread(target=_drive, args=(port, bodies, n * step, deadline, tally))
        for n in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    tally.ended = time.time()
    tally.cpu_seconds = _own_cpu_seconds() - cpu_before
    results.put(tally)


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the parent: databases, gunicorn, measurement ------------------------------------------------


@dataclass
class Result:
    """One database's measurement."""

    requests: int
    successes: int
    errors: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[int, int]
    error_kinds: dict[str, int]
    stale_retries: int
    elapsed: float
    client_cpu: float
    server_cpu: float | None
    machine_cpu: float | None

    def summary(self) -> dict[str, Any]:
        """The fields of the final JSON line."""
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 1),
            "p95_ms": round(self.p95_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "errors": self.errors,
            "requests": self.requests,
        }


def _percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank] * 1000


def drive_load(port: int, seconds: float, concurrency: int, processes: int) -> Result:
    """Run `concurrency` connections from `processes` client processes for `seconds`."""
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    share, extra = divmod(concurrency, processes)
    per_process = [share + (n < extra) for n in range(processes)]
    children = [
        ctx.Process(
            target=client_process,
            args=(port, threads, seconds, secrets.randbits(32), ready, go, results),
            daemon=True,
        )
        for threads in per_process
    ]
    tallies: list[Tally] = []
    try:
        for child in children:
            child.start()
        for _ in children:
            ready.get(timeout=START_TIMEOUT)
        server_before, machine_before = server_cpu_seconds(port), machine_busy_seconds()
        go.set()
        for _ in children:
            tallies.append(results.get(timeout=seconds + REQUEST_TIMEOUT + 30))
        server_after, machine_after = server_cpu_seconds(port), machine_busy_seconds()
    finally:
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
                child.join(timeout=5)

    statuses: Counter[int] = Counter()
    error_kinds: Counter[str] = Counter()
    latencies: list[float] = []
    for tally in tallies:
        statuses.update(tally.statuses)
        error_kinds.update(tally.errors)
        latencies.extend(tally.latencies)
    latencies.sort()
    elapsed = max(t.ended for t in tallies) - min(t.started for t in tallies)
    successes = statuses.get(201, 0)
    requests = sum(statuses.values()) + sum(error_kinds.values())
    server_cpu = machine_cpu = None
    if server_before is not None and server_after is not None:
        server_cpu = server_after - server_before
    if machine_before is not None and machine_after is not None:
        machine_cpu = machine_after - machine_before
    return Result(
        requests=requests,
        successes=successes,
        errors=requests - successes,
        rps=successes / elapsed if elapsed > 0 else 0.0,
        p50_ms=_percentile(latencies, 0.50),
        p95_ms=_percentile(latencies, 0.95),
        p99_ms=_percentile(latencies, 0.99),
        statuses=dict(statuses),
        error_kinds=dict(error_kinds),
        stale_retries=sum(t.stale_retries for t in tallies),
        elapsed=elapsed,
        client_cpu=sum(t.cpu_seconds for t in tallies),
        server_cpu=server_cpu,
        machine_cpu=machine_cpu,
    )


_SERVER_PIDS: dict[int, int] = {}  # port -> gunicorn master pid, for CPU accounting


def server_cpu_seconds(port: int) -> float | None:
    """CPU seconds used so far by the gunicorn master, its live workers and its reaped workers."""
    master = _SERVER_PIDS.get(port)
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        total = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            # Fields after the parenthesised command name: state ppid ... utime stime cutime cstime.
            fields = stat.rsplit(")", 1)[1].split()
            pid, ppid = int(entry.name), int(fields[1])
            if pid == master:
                total += sum(int(f) for f in fields[11:15])
            elif ppid == master:
                total += int(fields[11]) + int(fields[12])
        return total / tick
    except (OSError, IndexError, ValueError):
        return None


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores have spent busy since boot: everything on the machine counts."""
    try:
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psycopg_conninfo(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


@contextlib.contextmanager
def fresh_database(kind: str, pg_url: str, workdir: Path) -> Iterator[str]:
    """A DATABASE_URL for an empty database that disappears afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    conninfo = _psycopg_conninfo(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def app_environment(args: argparse.Namespace, database_url: str, bind: str) -> dict[str, str]:
    """The environment gunicorn and flask run with: production settings on a private database."""
    env = dict(os.environ)
    env.update(
        REUNITE_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=database_url,
        # Production insists on one: the rate limiter keeps its per-address counts there.
        REDIS_URL=args.redis_url,
        # As behind nginx: the client address comes from X-Forwarded-For (see CLIENT_ADDRESSES).
        TRUST_PROXY_HEADERS="1",
        BIND=bind,
    )
    for name in list(env):
        if name.startswith("RATE_LIMIT") or name in INHERITED_SETTINGS:
            env.pop(name)
    workers, threads = args.workers, args.threads
    if workers is not None:
        env["WEB_CONCURRENCY"] = str(workers)
    if threads is not None:
        env["GUNICORN_THREADS"] = str(threads)
    return env


def migrate(env: dict[str, str]) -> None:
    """Build the schema the way a deployment does."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{done.stderr[-3000:]}")


@contextlib.contextmanager
def gunicorn(env: dict[str, str], port: int, log_path: Path) -> Iterator[subprocess.Popen]:
    """gunicorn with deploy/gunicorn.conf.py, answering /readyz; stopped (and its group) after."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(CONF), "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _SERVER_PIDS[port] = process.pid
    try:
        _wait_ready(process, port, log_path)
        yield process
    finally:
        _SERVER_PIDS.pop(port, None)
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the process's own session (gunicorn stops its workers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready after {START_TIMEOUT:.0f}s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def configured_workers(env: dict[str, str]) -> int:
    """How many workers deploy/gunicorn.conf.py gives in this environment."""
    code = "import runpy,sys; print(runpy.run_path(sys.argv[1])['workers'])"
    output = subprocess.run(
        [sys.executable, "-c", code, str(CONF)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return int(output.stdout.strip())


def bench_one(kind: str, args: argparse.Namespace, processes: int) -> tuple[Result, int, int]:
    """Fresh database, migrate, serve, warm up, measure; returns (result, workers, threads)."""
    with tempfile.TemporaryDirectory(prefix="reunite-bench-") as tmp:
        workdir = Path(tmp)
        with fresh_database(kind, args.pg_url, workdir) as database_url:
            port = free_port()
            env = app_environment(args, database_url, f"127.0.0.1:{port}")
            workers = configured_workers(env)
            threads = int(env.get("GUNICORN_THREADS") or 1)
            migrate(env)
            log_path = workdir / "gunicorn.log"
            with gunicorn(env, port, log_path):
                drive_load(port, WARMUP_SECONDS, args.concurrency, processes)
                result = drive_load(port, args.seconds, args.concurrency, processes)
            if result.errors:
                print(f"[{kind}] last lines of the gunicorn log:\n{_tail(log_path, 15)}")
    return result, workers, threads


def print_table(rows: list[tuple[str, Result]], workers: int, threads: int, args) -> None:
    """A human-readable summary."""
    cores = os.cpu_count()
    print()
    print(
        f"POST {PATH}: {args.seconds:g}s, concurrency {args.concurrency}, "
        f"gunicorn {workers} workers x {threads} threads, {cores} cores shared with the client"
    )
    header = (
        f"{'database':<11}{'requests':>9}{'201s':>7}{'errors':>7}{'req/s':>8}"
        f"{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}  {'cpu: gunicorn':>13}{'client':>8}{'other':>7}"
    )
    print(header)
    print("-" * len(header))
    for kind, r in rows:
        server = _share(r.server_cpu, r.elapsed)
        client = _share(r.client_cpu, r.elapsed)
        other = None
        if r.machine_cpu is not None and r.server_cpu is not None:
            other = r.machine_cpu - r.server_cpu - r.client_cpu
        print(
            f"{kind:<11}{r.requests:>9}{r.successes:>7}{r.errors:>7}{r.rps:>8.1f}"
            f"{r.p50_ms:>8.1f}{r.p95_ms:>8.1f}{r.p99_ms:>8.1f}  {server:>13}{client:>8}"
            f"{_share(other, r.elapsed):>7}"
        )
    for kind, r in rows:
        others = {s: n for s, n in r.statuses.items() if s != 201}
        if others or r.error_kinds:
            print(f"{kind}: non-201 statuses {others}, connection errors {r.error_kinds}")
        if r.stale_retries:
            print(f"{kind}: {r.stale_retries} requests retried on a closed keep-alive connection")
    print(
        f"(cpu: share of one core over the run, {cores * 100 if cores else '?'}% is every core; "
        "other: the database server, Redis and anything else running on this machine)"
    )


def _share(seconds: float | None, elapsed: float) -> str:
    return "?" if seconds is None or elapsed <= 0 else f"{seconds / elapsed:.0%}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None, help="default: deploy/gunicorn.conf")
    parser.add_argument("--threads", type=int, default=None, help="default: deploy/gunicorn.conf")
    parser.add_argument("--client-processes", type=int, default=None, help="default: one per core")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.seconds > 600:
        parser.error("--seconds must be between 0 and 600")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return args


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    # Turn SIGTERM into an exception so the finally blocks stop gunicorn and drop the schema.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; the last line printed is the JSON summary."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    processes = args.client_processes or min(os.cpu_count() or 1, args.concurrency)
    rows: list[tuple[str, Result]] = []
    workers = threads = 0
    for kind in kinds:
        print(f"[{kind}] migrating, starting gunicorn, {WARMUP_SECONDS:g}s warm-up, measuring...")
        result, workers, threads = bench_one(kind, args, processes)
        rows.append((kind, result))
    print_table(rows, workers, threads, args)
    summary: dict[str, Any] = {kind: result.summary() for kind, result in rows}
    summary.update(
        workers=workers,
        threads=threads,
        concurrency=args.concurrency,
        seconds=args.seconds,
        cores=os.cpu_count(),
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
