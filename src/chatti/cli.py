"""The `chatti` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from chatti import collector
from chatti.config import ConfigError, Settings, default_sender_processes, load_settings
from chatti.simulator import ReceiptMix, Simulator, SimulatorConfig
from chatti.simulator.control import ControlServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatti", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sim = commands.add_parser("simulator", help="run a carrier SMSC simulator on loopback")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=2775, help="SMPP port (default 2775)")
    sim.add_argument("--stats-port", type=int, help="HTTP port for /stats (default: port + 1)")
    sim.add_argument(
        "--dlr-delay-ms",
        type=float,
        default=100.0,
        help="delay before each delivery receipt (default 100)",
    )
    sim.add_argument(
        "--dlr-ratio",
        default="1.0",
        help="share delivered (0.9) or weights delivered:undeliv:expired (90:8:2)",
    )
    sim.add_argument(
        "--throttle-every",
        type=int,
        default=0,
        help="answer every Nth submit_sm with ESME_RTHROTTLED (0: never)",
    )
    sim.add_argument(
        "--fail-ratio",
        type=float,
        default=0.0,
        help="share of submits refused with ESME_RSUBMITFAIL (default 0)",
    )
    sim.add_argument(
        "--fail-status",
        type=lambda v: int(v, 0),
        default=0x45,
        help="status of refused submits (default 0x45 ESME_RSUBMITFAIL)",
    )
    sim.add_argument("--no-receipts", action="store_true", help="never send delivery receipts")
    sim.add_argument("--system-id", help="require binds with this system_id")
    sim.add_argument("--password", help="and this password")
    sim.add_argument(
        "--bind-mode",
        choices=["answer", "ignore"],
        default="answer",
        help="ignore: accept TCP but never answer binds (a hung SMSC)",
    )
    sim.add_argument("--seed", type=int, help="seed for the random outcomes")
    sim.add_argument("--log-level", default="info")

    serve = commands.add_parser(
        "serve", help="run the platform: API, sender, receipts, webhooks, simulator if needed"
    )
    _add_store_options(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--log-level", default="info")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    _add_store_options(db_commands.add_parser("upgrade", help="apply the schema migrations"))

    accounts = commands.add_parser("accounts", help="manage accounts")
    account_commands = accounts.add_subparsers(dest="accounts_command", required=True)
    create = account_commands.add_parser("create", help="create an account and print its API key")
    _add_store_options(create)
    create.add_argument("--name", required=True)
    create.add_argument("--admin", action="store_true", help="its keys may use /v1/admin")
    account_commands_list = account_commands.add_parser("list", help="list the accounts")
    _add_store_options(account_commands_list)

    sla = commands.add_parser("sla", help="the delivery guarantee report, as JSON")
    _add_store_options(sla)
    sla.add_argument("--since", help="ISO 8601 time (default: 30 days ago)")
    sla.add_argument("--until", help="ISO 8601 time (default: now)")
    sla.add_argument("--account", help="one account's messages only")

    keys = commands.add_parser("keys", help="manage API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    new_key = key_commands.add_parser("create", help="create another API key for an account")
    _add_store_options(new_key)
    new_key.add_argument("--account", required=True, help="the account id (acct_...)")

    send = commands.add_parser("send", help="send messages through a running node's API")
    target = send.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", help="one E.164 number")
    target.add_argument("--file", type=Path, help="a CSV file: a number in the first column")
    send.add_argument("--text", required=True)
    send.add_argument("--from", dest="sender", default="Chatti", help="sender id (default Chatti)")
    send.add_argument("--url", default="http://127.0.0.1:8080", help="the node's API")
    send.add_argument(
        "--key", help="API key (default: $CHATTI_API_KEY, else DATA_DIR/demo-api-key)"
    )
    send.add_argument("--data-dir", type=Path, default=Path("chatti-data"))

    bench = commands.add_parser(
        "bench", help="measure Chatti end to end (or `chatti bench smpp` for the SMPP layer)"
    )
    bench.add_argument("suite", nargs="?", choices=["smpp"], help="smpp: codec and loopback only")
    bench.add_argument("--messages", type=int, help="default 100000 (smpp: 50000)")
    bench.add_argument("--api", choices=["batch", "single"], default="batch")
    bench.add_argument(
        "--concurrency", type=int, help="requests in flight (default: 4 batch, 50 single)"
    )
    bench.add_argument("--database-url", help="default: SQLite in a fresh folder")
    bench.add_argument("--window", type=int, default=100, help="smpp: submits in flight")
    bench.add_argument(
        "--sender-processes",
        type=_positive,
        default=default_sender_processes(),
        help="the node's [sending] processes (default: as in chatti serve, 2 on 2 cores)",
    )
    bench.add_argument(
        "--binds",
        type=_positive,
        help="the simulator carrier's binds, shared by the sender processes (default: one each)",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of 1 or more, not {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "simulator":
        return _simulator(parser, args)
    if args.command == "serve":
        return _serve(parser, args)
    if args.command == "send":
        from chatti import send_command

        return send_command.main(
            args.url, args.key, args.data_dir, args.to, args.file, args.text, args.sender
        )
    if args.command in ("db", "accounts", "keys", "sla"):
        return _admin_command(parser, args)
    if args.command == "bench":
        if args.suite == "smpp":
            from chatti.bench import smpp

            return smpp.main(args.messages or 50_000, args.window, args.json)
        from chatti.bench import e2e

        concurrency = args.concurrency or (4 if args.api == "batch" else 50)
        return e2e.main(
            args.messages or 100_000,
            args.api,
            concurrency,
            args.database_url,
            args.json,
            args.sender_processes,
            args.binds or args.sender_processes,
        )
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return None


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=Path("chatti-data"), help="default ./chatti-data"
    )
    parser.add_argument("--config", type=Path, help="a TOML config file (see docs/config.md)")


def _settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Settings:
    try:
        return load_settings(
            args.data_dir,
            args.config,
            getattr(args, "host", "127.0.0.1"),
            getattr(args, "port", 8080),
        )
    except ConfigError as error:
        parser.error(str(error))


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import uvicorn

    from chatti.api.app import create_app

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = _settings(parser, args)
    print(f"chatti: API on http://{settings.host}:{settings.port} (docs at /docs)", flush=True)
    config = uvicorn.Config(
        create_app(settings, log_level=args.log_level),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=args.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again
    # under the handler it found; with this one in place that ends in exit status 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    # The API's port is taken before anything starts: uvicorn would bind it only after
    # the app's startup, by which time the embedded simulator (on a port the kernel
    # picks) may have been given that very port. A port in use also fails at once.
    listening = config.bind_socket()
    # uvicorn marks it inheritable, for workers of its own; ours (the sender processes)
    # must not hold it, or it outlives a killed node and the port stays taken.
    listening.set_inheritable(False)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # After the lifespan: the node's objects are frozen with the imports'.
            collector.tune_for_service()

    Server(config).run(sockets=[listening])
    return 0


def _admin_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = _settings(parser, args)
    return asyncio.run(_run_admin_command(settings, args))


async def _run_admin_command(settings: Settings, args: argparse.Namespace) -> int:
    from chatti.store import NotFoundError, Store, queries
    from chatti.store.migrate import upgrade

    store = Store(settings.database_url)
    try:
        await upgrade(store)
        if args.command == "db":
            print("chatti: database is at the latest schema", flush=True)
        elif args.command == "sla":
            return await _print_sla(store, settings, args)
        elif args.command == "accounts" and args.accounts_command == "create":
            account, key = await queries.create_account(store, args.name, is_admin=args.admin)
            print(json.dumps({"account_id": account.id, "admin": account.is_admin, "api_key": key}))
        elif args.command == "accounts":
            for account in await queries.list_accounts(store):
                print(
                    json.dumps(
                        {"account_id": account.id, "name": account.name, "admin": account.is_admin}
                    )
                )
        else:
            try:
                api_key, plaintext = await queries.create_api_key(store, args.account)
            except NotFoundError as error:
                print(f"chatti: {error}", file=sys.stderr)
                return 1
            print(
                json.dumps({"account_id": args.account, "key_id": api_key.id, "api_key": plaintext})
            )
    finally:
        await store.close()
    return 0


async def _print_sla(store: Any, settings: Settings, args: argparse.Namespace) -> int:
    from datetime import datetime

    from chatti.api.render import timestamp
    from chatti.store.models import to_microseconds
    from chatti.store.queries import now_us
    from chatti.store.reports import sla_report

    now = now_us()
    try:
        since = to_microseconds(datetime.fromisoformat(args.since)) if args.since else None
        until = to_microseconds(datetime.fromisoformat(args.until)) if args.until else None
    except ValueError:
        print("chatti sla: --since and --until take ISO 8601 times", file=sys.stderr)
        return 2
    start = since if since is not None else now - 30 * 24 * 3600 * 1_000_000
    end = until if until is not None else now
    report = await sla_report(
        store, start, end, now, settings.dispatch.default_validity_seconds, args.account
    )
    body = report.as_dict()
    body["since"], body["until"] = timestamp(start), timestamp(end)
    print(json.dumps(body, indent=2))
    return 0 if report.guarantee_holds else 1


def _simulator(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        receipts = ReceiptMix.parse(args.dlr_ratio)
    except ValueError as error:
        parser.error(str(error))
    if not 0 <= args.fail_ratio <= 1:
        parser.error("--fail-ratio lies in 0..1")
    if (args.system_id is None) != (args.password is None):
        parser.error("--system-id and --password go together")
    config = SimulatorConfig(
        host=args.host,
        port=args.port,
        system_id=args.system_id,
        password=args.password,
        dlr_delay_ms=args.dlr_delay_ms,
        receipts=receipts,
        throttle_every=args.throttle_every,
        fail_ratio=args.fail_ratio,
        fail_status=args.fail_status,
        send_receipts=not args.no_receipts,
        bind_mode=args.bind_mode,
        seed=args.seed,
    )
    stats_port = args.stats_port if args.stats_port is not None else args.port + 1
    collector.tune_for_service()
    return run_until_signalled(_run_simulator(config, args.host, stats_port))


async def _run_simulator(config: SimulatorConfig, host: str, stats_port: int) -> int:
    simulator = Simulator(config)
    await simulator.start()
    control = ControlServer(simulator, host, stats_port)
    await control.start()
    print(
        f"chatti simulator: SMPP on {host}:{simulator.port},"
        f" stats at http://{host}:{control.port}/stats",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await control.stop()
        await simulator.stop()
        print(json.dumps(simulator.stats.as_dict()), flush=True)
    return 0


def run_until_signalled(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run the coroutine on uvloop; SIGINT or SIGTERM cancels it cleanly."""

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        try:
            return await coroutine
        except asyncio.CancelledError:
            return 0

    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(guarded())
    with contextlib.suppress(KeyboardInterrupt):
        return uvloop.run(guarded())
    return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
