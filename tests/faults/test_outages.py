"""Carrier faults against a running node: a carrier going away mid-traffic, one that
takes TCP but never answers binds, dropped connections with submits in flight, receipts
later than the validity period. Nothing accepted is lost; every duplicate is flagged."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chatti.store import queries
from chatti.store.models import MessageStatus, Route
from chatti.store.reports import sla_report
from tests.helpers import eventually, eventually_async
from tests.integration.test_sending import (
    accept,
    carrier,
    database_url,  # noqa: F401 - the fixture, on both engines
    new_message,
    settings_for,
    simulator,
    started,
    wait_for,
)

pytestmark = pytest.mark.asyncio

DELIVERED = MessageStatus.DELIVERED


async def test_carrier_goes_down_mid_traffic_and_the_route_fails_over(
    database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    first, second = await simulator(), await simulator()
    carriers = [carrier("first", first), carrier("second", second)]
    node = await started(
        settings_for(database_url, tmp_path, carriers, [Route("*", ("first", "second"))])
    )
    try:
        account, _ = await queries.create_account(node.store, "shop")
        before = [new_message(f"+4915112{n:06d}", f"before {n}") for n in range(200)]
        await accept(node, account, before)
        await wait_for(node, account, [m.id for m in before], lambda m: m.status is DELIVERED)
        assert {second.stats.submits, first.stats.submits} == {0, 200}
        await first.go_down()
        went_down = time.monotonic()
        after = [new_message(f"+4915113{n:06d}", f"after {n}") for n in range(200)]
        await accept(node, account, after)
        await eventually(lambda: second.stats.submits > 0, 15, "traffic on the second carrier")
        failover = time.monotonic() - went_down
        done = await wait_for(node, account, [m.id for m in after], lambda m: m.status is DELIVERED)
        assert {m.carrier for m in done} == {"second"}
        print(f"\nfailover to the second carrier after {failover:.2f} s")
        assert failover < 5
    finally:
        await node.stop()
        await first.stop()
        await second.stop()


async def test_carrier_that_never_answers_binds_is_skipped(
    database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    hung, working = await simulator(bind_mode="ignore"), await simulator()
    carriers = [carrier("hung", hung), carrier("working", working)]
    node = await started(
        settings_for(database_url, tmp_path, carriers, [Route("*", ("hung", "working"))])
    )
    try:
        account, _ = await queries.create_account(node.store, "shop")
        batch = [new_message(f"+4915112{n:06d}") for n in range(50)]
        sent = time.monotonic()
        await accept(node, account, batch)
        done = await wait_for(node, account, [m.id for m in batch], lambda m: m.status is DELIVERED)
        print(f"\n50 messages delivered around a hung carrier in {time.monotonic() - sent:.2f} s")
        assert {m.carrier for m in done} == {"working"}
        assert hung.stats.binds == 0
        assert hung.stats.bind_attempts >= 1
    finally:
        await node.stop()
        await hung.stop()
        await working.stop()


async def test_connections_dropped_with_submits_in_flight(
    database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    sim = await simulator(dlr_delay_ms=20)
    node = await started(
        settings_for(database_url, tmp_path, [carrier("sim", sim)], [Route("*", ("sim",))])
    )
    try:
        account, _ = await queries.create_account(node.store, "shop")
        batch = [new_message(f"+4915112{n:06d}", f"drop {n}") for n in range(2000)]
        await accept(node, account, batch)
        for threshold in (300, 900, 1500):  # drop three times while submits are flowing
            await eventually(lambda t=threshold: sim.stats.submits >= t, 30)  # type: ignore[misc]
            sim.drop_connections()

        async def all_delivered() -> bool:
            report = await sla_report(node.store, 0, queries.now_us() + 1, queries.now_us(), 3600)
            return report.delivered == 2000

        await eventually_async(all_delivered, 60, "2000 delivered")
        report = await sla_report(node.store, 0, queries.now_us() + 1, queries.now_us(), 3600)
        flagged = report.possible_duplicates
        print(f"\n3 drops: duplicates at the carrier {sim.stats.duplicates}, flagged {flagged}")
        assert sim.stats.submits - sim.stats.duplicates == 2000  # every message reached it
        assert sim.stats.duplicate_messages <= flagged
    finally:
        await node.stop()
        await sim.stop()


async def test_receipt_after_the_validity_period_is_still_recorded(
    database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    sim = await simulator(dlr_delay_ms=2500)
    node = await started(
        settings_for(database_url, tmp_path, [carrier("sim", sim)], [Route("*", ("sim",))])
    )
    try:
        account, _ = await queries.create_account(node.store, "shop")
        message = new_message(validity_period=1)
        await accept(node, account, [message])
        await wait_for(node, account, [message.id], lambda m: m.status is MessageStatus.EXPIRED)
        await wait_for(node, account, [message.id], lambda m: m.status is DELIVERED)
        _, history, _ = await queries.get_message(node.store, account.id, message.id)
        assert [c.status for c in history] == [
            MessageStatus.ACCEPTED,
            MessageStatus.SUBMITTED,
            MessageStatus.EXPIRED,
            DELIVERED,
        ]
        assert "late: was expired" in (history[-1].detail or "")
    finally:
        await node.stop()
        await sim.stop()
