"""`chatti bench`: end to end on one machine, every part in its own process.

    chatti bench --messages N --api batch|single --concurrency C [--database-url URL] [--json]
                 [--sender-processes P] [--binds B]

Processes: `chatti simulator` (the carrier), a webhook receiver, `chatti serve` (SQLite
in a fresh folder, or the given database), and the load client. The client sends N
messages over HTTP; a message counts as submitted (delivered) when its `submitted`
(`delivered`) webhook reached the receiver, and the run ends when both of every
message's webhooks did; the store is then asked once that it holds N delivered
messages. Rates count from the client's start. Latencies come from the client (request
to 202) and from the store (202 to the carrier's submit_sm_resp, and from it to the
receipt, first part of each message).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from chatti.bench.ports import free_port, wait_for_port
from chatti.bench.processes import carrier_toml, child_processes, start_simulator
from chatti.store.engine import Store
from chatti.store.tables import accounts, message_segments, messages

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class ProcessUsage:
    cpu_seconds: float
    peak_rss_mb: float


@dataclass
class BenchResult:
    messages: int
    api: str
    concurrency: int
    database: str
    accept_rate: float
    submit_rate: float
    delivery_rate: float
    end_to_end_rate: float
    seconds: float
    latency_ms: dict[str, dict[str, float]]
    processes: dict[str, ProcessUsage]
    lost: int
    duplicates: int
    sender_processes: int = 1
    binds: int = 1  # the simulator carrier's binds, shared by the sender processes
    statuses: dict[str, int] = field(default_factory=dict)


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50": values[0] if values else 0.0, "p95": 0.0, "p99": 0.0}
    cuts = statistics.quantiles(values, n=100)
    return {"p50": round(cuts[49], 2), "p95": round(cuts[94], 2), "p99": round(cuts[98], 2)}


def usage(pid: int) -> ProcessUsage:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS  # utime, stime
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return ProcessUsage(round(cpu, 2), round(peak, 1))


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.load(reply)


async def _store_latencies(url: str) -> tuple[list[float], list[float]]:
    store = Store(url)
    try:
        async with store.read() as connection:
            rows = await connection.execute(
                sa.select(
                    messages.c.created_at,
                    message_segments.c.submitted_at,
                    message_segments.c.receipt_at,
                )
                .join(message_segments, message_segments.c.message_id == messages.c.id)
                .where(message_segments.c.number == 1)
            )
            to_submit, to_receipt = [], []
            for created, submitted, receipt in rows:
                if submitted is not None:
                    to_submit.append((submitted - created) / 1000)
                    if receipt is not None:
                        to_receipt.append((receipt - submitted) / 1000)
    finally:
        await store.close()
    return to_submit, to_receipt


async def _accounts_in(url: str) -> int:
    """Accounts already in the database; 0 for one never migrated."""
    store = Store(url)
    try:
        async with store.engine.connect() as connection:
            migrated = await connection.run_sync(
                lambda sync: sa.inspect(sync).has_table("accounts")
            )
            if not migrated:
                return 0
            count = await connection.scalar(sa.select(sa.func.count()).select_from(accounts))
            return int(count or 0)
    finally:
        await store.close()


def database_problem(url: str) -> str | None:
    """Why the bench cannot run on this database, if it cannot: it needs an empty one,
    since its figures read every message in it (and it never deletes anyone's data)."""
    try:
        used = asyncio.run(_accounts_in(url))
    except Exception as error:  # unreachable server, bad URL, refused login...
        return f"cannot open the database: {str(error).splitlines()[0]}"
    if used:
        return (
            f"the database already holds {used} account(s); the bench needs an empty one"
            " (for PostgreSQL: createdb a new database and pass its URL)"
        )
    return None


def run(
    messages_count: int,
    api: str,
    concurrency: int,
    database_url: str | None,
    window: int = 100,
    dlr_delay_ms: int = 10,
    sender_processes: int = 1,
    binds: int = 1,
) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="chatti-bench-") as directory:
        data = Path(directory)
        smpp, stats, api_port, hooks = free_port(), free_port(), free_port(), free_port()
        url = database_url or f"sqlite:///{data / 'chatti.db'}"
        (data / "chatti.toml").write_text(
            f'[database]\nurl = "{url}"\n\n[sending]\nprocesses = {sender_processes}\n\n'
            + carrier_toml(smpp, window=window, binds=binds)
        )
        python = sys.executable
        log = (data / "serve.log").open("wb")
        started: list[subprocess.Popen[bytes]] = []

        def spawn(*command: str, output: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
            process = subprocess.Popen([python, *command], stdout=output, stderr=subprocess.STDOUT)
            started.append(process)
            return process

        try:
            simulator = start_simulator(smpp, stats, "--dlr-delay-ms", str(dlr_delay_ms))
            started.append(simulator)
            receiver = spawn("-m", "chatti.bench.receiver", "--port", str(hooks))
            serve = spawn(
                "-m",
                "chatti",
                "serve",
                "--data-dir",
                str(data),
                "--config",
                str(data / "chatti.toml"),
                "--port",
                str(api_port),
                "--log-level",
                "warning",
                output=log,
            )
            wait_for_port(hooks)
            wait_for_port(api_port, 60)
            base = f"http://127.0.0.1:{api_port}"
            admin = httpx.Client(
                base_url=base,
                timeout=60,
                headers={"Authorization": f"Bearer {(data / 'demo-api-key').read_text().strip()}"},
            )
            account = admin.post(
                "/v1/admin/accounts",
                json={
                    "name": "bench",
                    "callback_url": f"http://127.0.0.1:{hooks}/hook",
                    "webhook_batch_max": 1000,
                },
            ).json()
            deadline = time.monotonic() + 30
            while admin.get("/readyz").status_code != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError("chatti serve did not bind to the simulator")
                time.sleep(0.1)
            begun = time.time()
            load = subprocess.run(
                [
                    python,
                    "-m",
                    "chatti.bench.load",
                    "--port",
                    str(api_port),
                    "--key",
                    account["api_key"],
                    "--messages",
                    str(messages_count),
                    "--api",
                    api,
                    "--concurrency",
                    str(concurrency),
                ],
                capture_output=True,
                check=True,
                timeout=3600,
            )
            client = json.loads(load.stdout)
            # Progress comes from the webhook receiver, not from the node under test
            # (a status query every few hundred ms over a growing table would cost the
            # node CPU the run is measuring); the store is asked once, at the end.
            submitted_at = delivered_at = None
            limit = time.monotonic() + max(300, messages_count / 100)
            while time.monotonic() < limit and (submitted_at is None or delivered_at is None):
                statuses = _get(f"http://127.0.0.1:{hooks}/count")["statuses"]
                now = time.time()
                if submitted_at is None and statuses.get("submitted", 0) >= messages_count:
                    submitted_at = now
                if delivered_at is None and statuses.get("delivered", 0) >= messages_count:
                    delivered_at = now
                time.sleep(0.05)
            report = admin.get(f"/v1/admin/sla?account={account['account']['id']}").json()
            if delivered_at is None or submitted_at is None:
                raise RuntimeError("not every message was delivered and reported in time")
            if report["delivered"] != messages_count:
                raise RuntimeError(f"the store counts {report['delivered']} delivered")
            sim = _get(f"http://127.0.0.1:{stats}/stats")
            processes = {
                "chatti serve": usage(serve.pid),
                **{
                    f"chatti serve: {name}": usage(child)
                    for name, child in child_processes(serve.pid).items()
                },
                "simulator": usage(simulator.pid),
                "webhook receiver": usage(receiver.pid),
                "load client": ProcessUsage(
                    round(client["cpu_seconds"], 2), round(client["peak_rss_mb"], 1)
                ),
            }
            to_submit, to_receipt = asyncio.run(_store_latencies(url))
        finally:
            for process in reversed(started):
                process.terminate()
            for process in started:
                process.wait(30)
            log.close()
    finished = max(submitted_at, delivered_at)
    return BenchResult(
        messages=messages_count,
        api=api,
        concurrency=concurrency,
        database="postgresql" if database_url and database_url.startswith("postgres") else "sqlite",
        accept_rate=round(messages_count / client["seconds"]),
        submit_rate=round(messages_count / (submitted_at - begun)),
        delivery_rate=round(messages_count / (delivered_at - begun)),
        end_to_end_rate=round(messages_count / (finished - begun)),
        seconds=round(finished - begun, 2),
        latency_ms={
            "request_to_202": percentiles([value * 1000 for value in client["latencies"]]),
            "accepted_to_submitted": percentiles(to_submit),
            "submitted_to_receipt": percentiles(to_receipt),
        },
        processes=processes,
        lost=messages_count - (sim["submits"] - sim["duplicates"]),
        duplicates=sim["duplicates"],
        sender_processes=sender_processes,
        binds=binds,
        statuses=client["statuses"],
    )


def main(
    messages_count: int,
    api: str,
    concurrency: int,
    database_url: str | None,
    as_json: bool,
    sender_processes: int = 1,
    binds: int = 1,
) -> int:
    if database_url is not None and (problem := database_problem(database_url)):
        print(f"chatti bench: {problem}", file=sys.stderr)
        return 2
    result = run(
        messages_count,
        api,
        concurrency,
        database_url,
        sender_processes=sender_processes,
        binds=binds,
    )
    body = asdict(result)
    if as_json:
        print(json.dumps(body, indent=2))
    else:
        print(
            f"chatti bench: {result.messages:,} messages, {result.api} API, concurrency "
            f"{result.concurrency}, {result.database}, {os.cpu_count()} cores"
        )
        print(f"  sender processes {result.sender_processes}, binds to the carrier {result.binds}")
        print(f"  accepted   {result.accept_rate:>8,}/s")
        print(f"  submitted  {result.submit_rate:>8,}/s")
        print(f"  delivered  {result.delivery_rate:>8,}/s")
        print(
            f"  end to end {result.end_to_end_rate:>8,}/s  (delivered and both webhooks received,"
            f" {result.seconds} s)"
        )
        for name, cuts in result.latency_ms.items():
            print(
                f"  {name:<22} p50 {cuts['p50']:>8} ms  p95 {cuts['p95']:>8} ms"
                f"  p99 {cuts['p99']:>8} ms"
            )
        for name, used in result.processes.items():
            print(f"  {name:<28} CPU {used.cpu_seconds:>7} s  peak memory {used.peak_rss_mb:>7} MB")
        print(f"  lost {result.lost}, duplicates {result.duplicates}")
    return 0 if result.lost == 0 and result.duplicates == 0 else 1
