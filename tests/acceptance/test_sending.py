"""`chatti serve` end to end: HTTP in, SMPP out to a carrier, receipts back, signed
webhooks out. On SQLite and PostgreSQL, with the embedded simulator and with an SMSC
built on node-smpp."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatti.webhooks import signing
from tests.databases import ENGINES, database_url_for
from tests.helpers import wait_until
from tests.interop.conftest import require_node_smpp
from tests.interop.test_node_smpp import NodeSmsc
from tests.receiver import Receiver, webhook_receiver
from tests.servers import ChattiServer


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


def all_final(client: httpx.Client, ids: list[str], status: str = "delivered") -> bool:
    return all(client.get(f"/v1/messages/{i}").json()["status"] == status for i in ids)


def check_webhooks(receiver: Receiver, secret: str, ids: list[str]) -> None:
    wait_until(lambda: len(receiver.events()) >= 2 * len(ids), 20, "webhooks for every status")
    seen = sorted((event["message_id"], event["status"]) for event in receiver.events())
    assert seen == sorted([(i, "submitted") for i in ids] + [(i, "delivered") for i in ids])
    for post in receiver.received:
        assert signing.verify(
            secret,
            post.headers["Chatti-Timestamp"],
            post.body,
            post.headers["Chatti-Signature"],
            now=time.time(),
        )


def new_shop(server: ChattiServer, receiver: Receiver) -> tuple[str, str]:
    with server.client(server.admin_key) as admin:
        created = admin.post(
            "/v1/admin/accounts", json={"name": "shop", "callback_url": receiver.url}
        ).json()
    return created["api_key"], created["account"]["webhook_secret"]


@pytest.mark.parametrize("engine", ENGINES)
def test_send_over_http_delivered_by_the_embedded_simulator(
    engine: str, tmp_path: Path, receiver: Receiver
) -> None:
    with database_url_for(engine, tmp_path) as url:
        server = ChattiServer(tmp_path, url)
        server.start()
        try:
            key, secret = new_shop(server, receiver)
            with server.client(key) as api:
                wait_until(lambda: api.get("/readyz").status_code == 200, 10, "a carrier bound")
                batch = {
                    "messages": [
                        {"to": f"+49151123{n:05d}", "from": "Chatti", "text": f"code {n}"}
                        for n in range(100)
                    ]
                }
                ids = [
                    r["id"] for r in api.post("/v1/messages/batch", json=batch).json()["results"]
                ]
                ids += [
                    api.post(
                        "/v1/messages",
                        json={"to": "+33612345678", "from": "Chatti", "text": f"single {n} 😀"},
                    ).json()["id"]
                    for n in range(10)
                ]
                wait_until(lambda: all_final(api, ids), 30, "every message delivered")
                one = api.get(f"/v1/messages/{ids[0]}").json()
                assert one["carrier"] == "simulator"
                assert one["parts"][0]["carrier_message_id"]
                assert [h["status"] for h in one["history"]] == [
                    "accepted",
                    "submitted",
                    "delivered",
                ]
            check_webhooks(receiver, secret, ids)
        finally:
            assert server.stop(signal.SIGTERM) == 0


def test_chatti_send_with_a_file_and_a_progress_bar(tmp_path: Path) -> None:
    with database_url_for("sqlite", tmp_path) as url:
        server = ChattiServer(tmp_path, url)
        server.start()
        try:
            numbers = tmp_path / "numbers.csv"
            numbers.write_text(
                "phone\n" + "".join(f"+49151123{n:05d}\n" for n in range(2500)) + "123\n"
            )
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "chatti",
                    "send",
                    "--file",
                    str(numbers),
                    "--text",
                    "Sale!",
                    "--url",
                    server.base_url,
                    "--data-dir",
                    str(tmp_path),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 1  # one number was rejected
            assert '"accepted": 2500' in result.stdout
            assert "2501/2501" in result.stderr
            assert "rejected 123" in result.stderr
            one = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "chatti",
                    "send",
                    "--to",
                    "+4915112345678",
                    "--text",
                    "hi",
                    "--url",
                    server.base_url,
                    "--key",
                    server.admin_key,
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert one.returncode == 0
            assert '"status": "accepted"' in one.stdout
            refused = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "chatti",
                    "send",
                    "--to",
                    "+4915112345678",
                    "--text",
                    "hi",
                    "--url",
                    server.base_url,
                    "--key",
                    "wrong",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert refused.returncode == 2
            assert "API key" in refused.stderr
            assert "Traceback" not in refused.stderr
        finally:
            server.stop()


def test_node_smpp_smsc_as_the_configured_carrier(tmp_path: Path, receiver: Receiver) -> None:
    smsc = NodeSmsc(require_node_smpp())
    try:
        config = (
            f'[[carriers]]\nname = "node"\nhost = "127.0.0.1"\nport = {smsc.port}\n'
            'system_id = "chatti"\npassword = "secret"\nwindow = 20\n\n'
            '[[routes]]\nmatch = "*"\ncarriers = ["node"]\n'
        )
        with database_url_for("sqlite", tmp_path) as url:
            server = ChattiServer(tmp_path, url, extra_config=config)
            server.start()
            try:
                key, secret = new_shop(server, receiver)
                with server.client(key) as api:
                    ids = [
                        api.post(
                            "/v1/messages",
                            json={"to": f"+4915112345{n:03d}", "from": "Chatti", "text": "Grüße"},
                        ).json()["id"]
                        for n in range(20)
                    ]
                    wait_until(lambda: all_final(api, ids), 30, "delivered through node-smpp")
                    assert {api.get(f"/v1/messages/{i}").json()["carrier"] for i in ids} == {"node"}
                check_webhooks(receiver, secret, ids)
            finally:
                server.stop()
    finally:
        smsc.close()


def test_sigterm_stops_cleanly_and_leaves_nothing_claimed(tmp_path: Path) -> None:
    import asyncio

    import sqlalchemy as sa

    from chatti.store.engine import Store
    from chatti.store.tables import messages

    with database_url_for("sqlite", tmp_path) as url:
        server = ChattiServer(tmp_path, url)
        server.start()
        with server.client(server.admin_key) as api:
            batch = {
                "messages": [
                    {"to": f"+49151123{n:05d}", "from": "Chatti", "text": "x"} for n in range(3000)
                ]
            }
            assert api.post("/v1/messages/batch", json=batch).status_code == 202
        assert server.stop(signal.SIGTERM) == 0

        async def claimed() -> list[Any]:
            store = Store(url)
            try:
                async with store.read() as connection:
                    return list(
                        await connection.execute(
                            sa.select(messages.c.id).where(messages.c.claimed_by.is_not(None))
                        )
                    )
            finally:
                await store.close()

        assert asyncio.run(claimed()) == []
        server.start()
        try:
            with server.client(server.admin_key) as api:

                def delivered() -> int:
                    page = api.get("/v1/messages", params={"status": "delivered", "limit": 1000})
                    return len(page.json()["messages"])

                wait_until(lambda: delivered() == 1000, 60, "the backlog delivered after restart")
        finally:
            server.stop()
