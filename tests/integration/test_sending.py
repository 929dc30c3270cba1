"""A node (dispatcher, carrier binds, receipts, webhooks) against simulators over real
SMPP on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import importlib.abc
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa

from chatti import text
from chatti.config import Settings
from chatti.dispatch.worker import DispatchSettings
from chatti.node import Node
from chatti.sender import Sender
from chatti.simulator import Simulator, SimulatorConfig
from chatti.smpp.constants import CommandStatus
from chatti.store import outbox, queries
from chatti.store.engine import Store
from chatti.store.ids import new_ulid
from chatti.store.migrate import upgrade
from chatti.store.models import Account, Carrier, Message, MessageStatus, NewMessage, Route
from chatti.store.outbox import webhook_counts
from chatti.store.tables import webhook_attempts
from chatti.webhooks import sender as webhook_sender
from chatti.webhooks import signing
from chatti.webhooks.retry import WebhookRetry
from chatti.webhooks.sender import WebhookSender, WebhookSettings
from tests.databases import ENGINES, fresh_database
from tests.helpers import eventually, eventually_async
from tests.receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture(params=ENGINES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


async def simulator(**options: Any) -> Simulator:
    defaults: dict[str, Any] = {
        "dlr_delay_ms": 5,
        "system_id": "chatti",
        "password": "pw",
        "seed": 1,
    }
    sim = Simulator(SimulatorConfig(port=0, **(defaults | options)))
    await sim.start()
    return sim


def carrier(name: str, sim: Simulator, password: str = "pw") -> Carrier:
    return Carrier(name, "127.0.0.1", sim.port, "chatti", password, window=50)


def settings_for(
    url: str, tmp_path: Path, carriers: list[Carrier], routes: list[Route]
) -> Settings:
    return Settings(
        database_url=url,
        data_dir=tmp_path,
        carriers=tuple(carriers),
        routes=tuple(routes),
        simulator=False,
        node_id="test-node",
        dispatch=DispatchSettings(idle_poll_seconds=0.05, expiry_sweep_seconds=0.1),
        webhooks=WebhookSettings(idle_poll_seconds=0.05, retry=WebhookRetry(initial_seconds=0.2)),
    )


async def started(settings: Settings) -> Node:
    node = Node(settings)
    await node.start()
    return node


def new_message(to: str = "+4915112345678", body: str = "hello", **fields: object) -> NewMessage:
    encoding = text.choose_encoding(body)
    values: dict[str, object] = {
        "id": new_ulid(),
        "to_number": to,
        "country": "FR" if to.startswith("+33") else "DE",
        "sender": "Chatti",
        "body": body,
        "encoding": encoding.value,
        "segment_count": text.count_segments(body, encoding),
    }
    values.update(fields)
    return NewMessage(**values)  # type: ignore[arg-type]


async def accept(node: Node, account: Account, messages: list[NewMessage]) -> None:
    await node.accepts.accept(account.id, messages)
    node.accepted()


async def wait_for(
    node: Node,
    account: Account,
    ids: list[str],
    done: Callable[[Message], bool],
    timeout: float = 20,
) -> list[Message]:
    deadline = time.monotonic() + timeout
    while True:
        found = [(await queries.get_message(node.store, account.id, i))[0] for i in ids]
        if all(done(message) for message in found):
            return found
        if time.monotonic() > deadline:
            states = sorted({(m.status.value, m.last_error) for m in found}, key=str)
            raise AssertionError(f"not done within {timeout}s: {states}")
        await asyncio.sleep(0.05)


def is_final(message: Message) -> bool:
    return message.status in (
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.EXPIRED,
        MessageStatus.FAILED,
    )


async def test_messages_are_delivered_and_every_status_is_signed_to_the_webhook(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    sim = await simulator()
    node = await started(
        settings_for(database_url, tmp_path, [carrier("sim", sim)], [Route("*", ("sim",))])
    )
    try:
        account, _ = await queries.create_account(node.store, "shop", callback_url=receiver.url)
        batch = [new_message(f"+49151123456{n:02d}", f"code {n}") for n in range(40)]
        batch.append(new_message(body="long " * 60))  # two parts, each with its receipt
        await accept(node, account, batch)
        ids = [m.id for m in batch]
        done = await wait_for(node, account, ids, lambda m: m.status is MessageStatus.DELIVERED)
        assert {m.carrier for m in done} == {"sim"}
        _, history, parts = await queries.get_message(node.store, account.id, batch[-1].id)
        assert [c.status for c in history] == [
            MessageStatus.ACCEPTED,
            MessageStatus.SUBMITTED,
            MessageStatus.DELIVERED,
        ]
        assert len(parts) == 2
        assert all(p.carrier_message_id and p.receipt_at for p in parts)
        await eventually(lambda: len(receiver.events()) >= 2 * len(ids), 10)
        events = receiver.events()
        assert sorted((e["message_id"], e["status"]) for e in events) == sorted(
            [(i, "submitted") for i in ids] + [(i, "delivered") for i in ids]
        )
        for post in receiver.received:
            assert signing.verify(
                account.webhook_secret,
                post.headers["Chatti-Timestamp"],
                post.body,
                post.headers["Chatti-Signature"],
                now=time.time(),
            )
        assert sim.stats.submits == 42
        assert sim.stats.duplicates == 0
    finally:
        await node.stop()
        await sim.stop()


async def test_webhooks_go_to_the_message_url_else_the_account_url_else_nowhere(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """The sender reads each message's webhook target with its claim and its receipt
    lookup; this holds those reads to the rule: own URL, else the account's, else none."""
    sim = await simulator()
    node = await started(
        settings_for(database_url, tmp_path, [carrier("sim", sim)], [Route("*", ("sim",))])
    )
    try:
        shop, _ = await queries.create_account(node.store, "shop", callback_url=receiver.url)
        quiet, _ = await queries.create_account(node.store, "quiet")
        own_url = receiver.url + "?own"
        by_account = [new_message(f"+49151123450{n:02d}") for n in range(3)]
        own = new_message("+4915112345100", callback_url=own_url)
        silent = new_message("+4915112345101")
        quiet_own = new_message("+4915112345102", callback_url=own_url)
        await accept(node, shop, [*by_account, own])
        await accept(node, quiet, [silent, quiet_own])
        delivered = lambda m: m.status is MessageStatus.DELIVERED  # noqa: E731
        await wait_for(node, shop, [m.id for m in [*by_account, own]], delivered)
        await wait_for(node, quiet, [silent.id, quiet_own.id], delivered)
        async with node.store.read() as connection:
            rows = (
                await connection.execute(
                    sa.text("SELECT account_id, message_id, url, status FROM webhook_outbox")
                )
            ).all()
        steps = ("submitted", "delivered")
        expected = {(shop.id, m.id, receiver.url, step) for m in by_account for step in steps}
        expected |= {(shop.id, own.id, own_url, step) for step in steps}
        expected |= {(quiet.id, quiet_own.id, own_url, step) for step in steps}
        assert {tuple(row) for row in rows} == expected
    finally:
        await node.stop()
        await sim.stop()


async def test_routing_by_prefix_country_and_default(database_url: str, tmp_path: Path) -> None:
    sims = {name: await simulator() for name in ("mobile", "germany", "world")}
    carriers = [carrier(name, sim) for name, sim in sims.items()]
    routes = [Route("*", ("world",)), Route("DE", ("germany",)), Route("+49151", ("mobile",))]
    node = await started(settings_for(database_url, tmp_path, carriers, routes))
    try:
        account, _ = await queries.create_account(node.store, "shop")
        batch = [
            new_message("+4915112345678"),
            new_message("+4930123456"),
            new_message("+33612345678"),
        ]
        await accept(node, account, batch)
        done = await wait_for(node, account, [m.id for m in batch], is_final)
        assert [m.carrier for m in done] == ["mobile", "germany", "world"]
        assert [sim.stats.submits for sim in sims.values()] == [1, 1, 1]
    finally:
        await node.stop()
        for sim in sims.values():
            await sim.stop()


async def test_failover_when_the_first_carrier_refuses_binds(
    database_url: str, tmp_path: Path
) -> None:
    refusing, working = await simulator(), await simulator()
    carriers = [carrier("first", refusing, password="wrong"), carrier("second", working)]
    node = await started(
        settings_for(database_url, tmp_path, carriers, [Route("*", ("first", "second"))])
    )
    try:
        account, _ = await queries.create_account(node.store, "shop")
        batch = [new_message(f"+49151123456{n:02d}") for n in range(20)]
        await accept(node, account, batch)
        done = await wait_for(node, account, [m.id for m in batch], is_final)
        assert {(m.status, m.carrier) for m in done} == {(MessageStatus.DELIVERED, "second")}
        assert refusing.stats.bind_refusals >= 1
        assert refusing.stats.submits == 0
    finally:
        await node.stop()
        await refusing.stop()
        await working.stop()


async def test_throttling_is_answered_by_backoff_without_loss_or_duplicates(
    database_url: str, tmp_path: Path
) -> None:
    sim = await simulator(throttle_every=3)
    node = await started(
        settings_for(database_url, tmp_path, [carrier("sim", sim)], [Route("*", ("sim",))])
    )
    try:
        account, _ = await queries.create_account(node.store, "shop")
        batch = [new_message(f"+4915112{n:06d}", f"throttled {n}") for n in range(150)]
        await accept(node, account, batch)
        await wait_for(
            node, account, [m.id for m in batch], lambda m: m.status is MessageStatus.DELIVERED
        )
        assert sim.stats.throttled > 0
        assert (sim.stats.submits, sim.stats.duplicates) == (150, 0)
    finally:
        await node.stop()
        await sim.stop()


async def test_permanent_refusal_fails_the_message(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    sim = await simulator(fail_ratio=1.0, fail_status=CommandStatus.ESME_RINVDSTADR)
    node = await started(
        settings_for(database_url, tmp_path, [carrier("sim", sim)], [Route("*", ("sim",))])
    )
    try:
        account, _ = await queries.create_account(node.store, "shop", callback_url=receiver.url)
        message = new_message()
        await accept(node, account, [message])
        (done,) = await wait_for(node, account, [message.id], is_final)
        assert done.status is MessageStatus.FAILED
        _, history, _ = await queries.get_message(node.store, account.id, message.id)
        assert "ESME_RINVDSTADR" in (history[-1].detail or "")
        await eventually(lambda: bool(receiver.events()), 10)
        assert [e["status"] for e in receiver.events()] == ["failed"]
    finally:
        await node.stop()
        await sim.stop()


async def test_no_receipt_within_validity_expires(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    sim = await simulator(send_receipts=False)
    node = await started(
        settings_for(database_url, tmp_path, [carrier("sim", sim)], [Route("*", ("sim",))])
    )
    try:
        account, _ = await queries.create_account(node.store, "shop", callback_url=receiver.url)
        message = new_message(validity_period=1)
        await accept(node, account, [message])
        (done,) = await wait_for(node, account, [message.id], is_final)
        assert done.status is MessageStatus.EXPIRED
        await eventually(lambda: len(receiver.events()) >= 2, 10)
        assert [e["status"] for e in receiver.events()] == ["submitted", "expired"]
    finally:
        await node.stop()
        await sim.stop()


async def test_webhook_retried_after_500_until_it_succeeds(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.statuses.extend([500, 500])
    sim = await simulator(send_receipts=False)
    node = await started(
        settings_for(database_url, tmp_path, [carrier("sim", sim)], [Route("*", ("sim",))])
    )
    try:
        account, _ = await queries.create_account(node.store, "shop", callback_url=receiver.url)
        message = new_message()
        await accept(node, account, [message])
        await eventually(lambda: bool(receiver.events()), 15)
        assert [e["status"] for e in receiver.events()] == ["submitted"]
        assert receiver.statuses == []  # both 500s were answered before the success

        async def delivered() -> bool:
            return (await webhook_counts(node.store))["delivered"] == 1

        await eventually_async(delivered, 5)
        assert await webhook_counts(node.store) == {"pending": 0, "delivered": 1, "gave_up": 0}
        async with node.store.read() as connection:
            attempts = (await connection.execute(sa.select(webhook_attempts))).all()
        assert [a.status_code for a in attempts] == [500, 500, 200]
    finally:
        await node.stop()
        await sim.stop()


async def test_webhooks_in_flight_at_a_stop_are_recorded_as_delivered(
    database_url: str, receiver: Receiver
) -> None:
    receiver.delay = 0.5
    store = Store(database_url)
    try:
        await upgrade(store)
        account, _ = await queries.create_account(store, "shop", callback_url=receiver.url)
        message = new_message()
        await queries.accept_messages(store, account.id, [message])
        async with store.write() as connection:
            await outbox.write_status_events(
                connection,
                outbox.status_event_rows(
                    [message.id], MessageStatus.SUBMITTED, queries.now_us(), {}
                ),
            )
        webhooks = WebhookSender(store, "node", WebhookSettings())
        running = asyncio.create_task(webhooks.run())
        await eventually(lambda: receiver.arrived == 1, 10)
        await webhooks.stop()  # while the POST waits for its answer
        await asyncio.wait_for(running, 10)
        await webhooks.close()
        assert [e["message_id"] for e in receiver.events()] == [message.id]
        assert await webhook_counts(store) == {"pending": 0, "delivered": 1, "gave_up": 0}
    finally:
        await store.close()


async def _post_submitted_events(
    database_url: str,
    receiver: Receiver,
    count: int,
    settings: WebhookSettings,
    *,
    batch_max: int = 5,
) -> None:
    """`count` submitted events for one URL, `batch_max` a POST, sent until all arrived."""
    store = Store(database_url)
    try:
        await upgrade(store)
        account, _ = await queries.create_account(
            store, "shop", callback_url=receiver.url, webhook_batch_max=batch_max
        )
        batch = [new_message(f"+49151123400{n:02d}") for n in range(count)]
        await queries.accept_messages(store, account.id, batch)
        async with store.write() as connection:
            await outbox.write_status_events(
                connection,
                outbox.status_event_rows(
                    [m.id for m in batch], MessageStatus.SUBMITTED, queries.now_us(), {}
                ),
            )
        webhooks = WebhookSender(store, "node", settings)
        running = asyncio.create_task(webhooks.run())
        await eventually(lambda: len(receiver.events()) == count, 20)
        await webhooks.stop()
        await asyncio.wait_for(running, 10)
        await webhooks.close()
        assert sorted(e["message_id"] for e in receiver.events()) == sorted(m.id for m in batch)
        assert await webhook_counts(store) == {"pending": 0, "delivered": count, "gave_up": 0}
    finally:
        await store.close()


async def test_claims_grow_while_full_rounds_bring_events_that_waited(
    database_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog of 40 events that waited (here: any wait counts), claims of 5: a full
    round makes the next claim BACKLOG_CLAIM_FACTOR times larger (one POST a round
    here), until one comes back short."""
    monkeypatch.setattr(webhook_sender, "BACKLOG_LAG_SECONDS", 0.0)
    assert webhook_sender.BACKLOG_CLAIM_FACTOR == 4
    await _post_submitted_events(
        database_url, receiver, 40, WebhookSettings(claim_size=5), batch_max=1000
    )
    assert [len(post.events) for post in receiver.received] == [5, 20, 15]


async def test_claims_keep_their_size_for_events_that_did_not_wait(
    database_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full rounds of fresh events (written less than BACKLOG_LAG_SECONDS before, here
    an hour so that a slow test machine changes nothing): claims stay at claim_size."""
    monkeypatch.setattr(webhook_sender, "BACKLOG_LAG_SECONDS", 3600.0)
    await _post_submitted_events(
        database_url, receiver, 40, WebhookSettings(claim_size=5), batch_max=1000
    )
    assert [len(post.events) for post in receiver.received] == [5] * 8


async def test_full_rounds_overlap_at_a_slow_receiver(
    database_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog (full rounds of 5) and a receiver that takes 0.3 s to answer: later
    rounds are claimed and POSTed while earlier ones wait, every event once."""
    monkeypatch.setattr(webhook_sender, "BACKLOG_CLAIM_FACTOR", 1)  # one POST a round
    receiver.delay = 0.3
    await _post_submitted_events(database_url, receiver, 40, WebhookSettings(claim_size=5))
    assert receiver.most_at_once >= 4


async def test_rounds_stay_one_at_a_time_at_a_receiver_that_answers_in_time(
    database_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver that answers within OVERLAP_AFTER_SECONDS (here 5 s, so that a slow
    test machine changes nothing) gets one round at a time, as large as they come."""
    monkeypatch.setattr(webhook_sender, "OVERLAP_AFTER_SECONDS", 5.0)
    monkeypatch.setattr(webhook_sender, "BACKLOG_CLAIM_FACTOR", 1)  # one POST a round
    receiver.delay = 0.05
    await _post_submitted_events(database_url, receiver, 40, WebhookSettings(claim_size=5))
    assert receiver.most_at_once == 1


class _ModuleSearches(importlib.abc.MetaPathFinder):
    """Sees every import that is not already loaded: a failed one searches again each time."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        self.names.append(name)


async def test_webhook_posts_search_for_no_module(database_url: str, receiver: Receiver) -> None:
    """Python does not remember a failed import: a library that tries one per request
    (httpcore without sniffio) searched sys.path on every POST, 40 % of its CPU."""
    store = Store(database_url)
    webhooks = WebhookSender(store, "node", WebhookSettings())
    try:
        await upgrade(store)
        account, _ = await queries.create_account(
            store, "shop", callback_url=receiver.url, webhook_batch_max=1
        )
        batch = [new_message(f"+49151123456{n:02d}") for n in range(6)]
        await queries.accept_messages(store, account.id, batch)

        async def report(sent: list[NewMessage], total: int) -> None:
            async with store.write() as connection:
                await outbox.write_status_events(
                    connection,
                    outbox.status_event_rows(
                        [m.id for m in sent], MessageStatus.SUBMITTED, queries.now_us(), {}
                    ),
                )
            webhooks.wake()
            await eventually(lambda: len(receiver.events()) == total, 10)

        running = asyncio.create_task(webhooks.run())
        await report(batch[:1], 1)  # the first POST may import what it uses
        searches = _ModuleSearches()
        sys.meta_path.insert(0, searches)
        try:
            await report(batch[1:], len(batch))
        finally:
            sys.meta_path.remove(searches)
        await webhooks.stop()
        await asyncio.wait_for(running, 10)
        assert len(receiver.received) == len(batch)  # one POST per event
        assert searches.names == []
    finally:
        await webhooks.close()
        await store.close()


async def test_messages_wait_for_a_carrier_and_leave_when_it_binds(
    database_url: str, tmp_path: Path
) -> None:
    sim = await simulator()
    await sim.go_down()
    settings = settings_for(database_url, tmp_path, [carrier("sim", sim)], [Route("*", ("sim",))])
    node = await started(replace(settings))
    try:
        account, _ = await queries.create_account(node.store, "shop")
        batch = [new_message(f"+49151123456{n:02d}") for n in range(10)]
        await accept(node, account, batch)
        await asyncio.sleep(1.0)
        waiting = [(await queries.get_message(node.store, account.id, m.id))[0] for m in batch]
        assert {m.status for m in waiting} == {MessageStatus.ACCEPTED}
        await sim.come_up()
        await wait_for(
            node, account, [m.id for m in batch], lambda m: m.status is MessageStatus.DELIVERED
        )
    finally:
        await node.stop()
        await sim.stop()


async def test_several_binds_share_the_traffic_and_cover_for_a_lost_one(
    database_url: str, tmp_path: Path
) -> None:
    sim = await simulator()
    two_binds = replace(carrier("sim", sim), window=5, binds=2)
    node = await started(settings_for(database_url, tmp_path, [two_binds], [Route("*", ("sim",))]))
    try:
        assert isinstance(node.carriers, Sender)
        live = node.carriers.pool.live["sim"]
        await eventually(lambda: live.binds.bound_count == 2, 10)
        assert node.carriers.pool.window_slots == 10
        status = node.carriers.carrier_status()["sim"]
        assert (status["connections"], status["bound_connections"]) == (2, 2)
        account, _ = await queries.create_account(node.store, "shop")
        first = [new_message(f"+49151123400{n:02d}", f"first {n}") for n in range(60)]
        await accept(node, account, first)
        await wait_for(node, account, [m.id for m in first], is_final)
        assert all(client.requests >= 10 for client in live.binds.clients)  # both carried
        assert sum(client.requests for client in live.binds.clients) == 60
        live.binds.clients[0].drop()  # one bind lost: the other carries on alone
        second = [new_message(f"+49151123500{n:02d}", f"second {n}") for n in range(60)]
        await accept(node, account, second)
        done = await wait_for(node, account, [m.id for m in second], is_final)
        assert {m.status for m in done} == {MessageStatus.DELIVERED}
        assert sim.stats.submits == 120
        assert sim.stats.duplicates == 0
        await eventually(lambda: live.binds.bound_count == 2, 10)  # and it binds again
    finally:
        await node.stop()
        await sim.stop()


async def test_a_helper_sender_binds_only_while_a_backlog_waits(
    database_url: str, tmp_path: Path
) -> None:
    """The second sender process of a node (here in-process, alone) keeps its binds
    closed until 50 messages are due, sends them all, and unbinds after the linger."""
    sim = await simulator()
    two_binds = replace(carrier("sim", sim), binds=2)
    settings = replace(
        settings_for(database_url, tmp_path, [two_binds], [Route("*", ("sim",))]),
        sender_processes=2,
        sender_index=1,
        helper_backlog=50,
        helper_linger_seconds=0.5,
    )
    node = await started(settings)
    try:
        assert isinstance(node.carriers, Sender)
        account, _ = await queries.create_account(node.store, "shop")
        few = [new_message(f"+49151123400{n:02d}", f"few {n}") for n in range(30)]
        await accept(node, account, few)
        await asyncio.sleep(1.0)
        assert sim.bound_now == 0
        waiting = [(await queries.get_message(node.store, account.id, m.id))[0] for m in few]
        assert {m.status for m in waiting} == {MessageStatus.ACCEPTED}
        more = [new_message(f"+49151123500{n:02d}", f"more {n}") for n in range(40)]
        await accept(node, account, more)
        await eventually(lambda: sim.bound_now == 1, 5, "the helper's one bind of two")
        done = await wait_for(node, account, [m.id for m in few + more], is_final)
        assert {m.status for m in done} == {MessageStatus.DELIVERED}
        await eventually(lambda: sim.bound_now == 0, 5, "unbound after the linger")
        assert not node.carriers.any_bound
        assert (sim.stats.submits, sim.stats.duplicates) == (70, 0)
        assert sim.stats.binds == 1
    finally:
        await node.stop()
        await sim.stop()
