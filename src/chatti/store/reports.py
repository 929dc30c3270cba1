"""Reports over messages: the SLA report of the delivery guarantee."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from chatti.store.engine import Store
from chatti.store.models import MessageStatus
from chatti.store.tables import messages


@dataclass(frozen=True, slots=True)
class SlaReport:
    since: int
    until: int
    accepted: int  # messages accepted in the range
    submitted: int  # of those, submitted to a carrier (whatever came after)
    delivered: int
    undelivered: int
    expired: int
    failed: int  # refused for good by a carrier (never "failed" for an outage)
    pending: int  # still waiting for a carrier
    oldest_pending_age_seconds: float | None
    overdue: int  # pending longer than their validity: the guarantee is broken for these
    possible_duplicates: int
    guarantee_holds: bool  # every accepted message submitted, refused, or pending within its time

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        submitted_share = self.submitted / self.accepted if self.accepted else None
        delivered_share = self.delivered / self.submitted if self.submitted else None
        body["submitted_percent"] = (
            None if submitted_share is None else round(100 * submitted_share, 4)
        )
        body["delivery_rate_percent"] = (
            None if delivered_share is None else round(100 * delivered_share, 4)
        )
        return body


async def sla_report(
    store: Store,
    since: int,
    until: int,
    now: int,
    default_validity_seconds: int,
    account_id: str | None = None,
) -> SlaReport:
    status = messages.c.status
    pending = status == MessageStatus.ACCEPTED.value
    window = (
        sa.cast(
            sa.func.coalesce(messages.c.validity_period, default_validity_seconds), sa.BigInteger
        )
        * 1_000_000
    )

    def count(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    query = sa.select(
        sa.func.count(),
        count(messages.c.submitted_at.is_not(None)),
        count(status == MessageStatus.DELIVERED.value),
        count(status == MessageStatus.UNDELIVERED.value),
        count(status == MessageStatus.EXPIRED.value),
        count(status == MessageStatus.FAILED.value),
        count(pending),
        sa.func.min(sa.case((pending, messages.c.created_at), else_=None)),
        count(sa.and_(pending, messages.c.created_at + window < now)),
        count(messages.c.possible_duplicate),
    ).where(messages.c.created_at >= since, messages.c.created_at < until)
    if account_id is not None:
        query = query.where(messages.c.account_id == account_id)
    async with store.read() as connection:
        row = (await connection.execute(query)).one()
    values = [int(value or 0) for value in row]
    oldest = row[7]
    return SlaReport(
        since=since,
        until=until,
        accepted=values[0],
        submitted=values[1],
        delivered=values[2],
        undelivered=values[3],
        expired=values[4],
        failed=values[5],
        pending=values[6],
        oldest_pending_age_seconds=None if oldest is None else round((now - oldest) / 1e6, 3),
        overdue=values[8],
        possible_duplicates=values[9],
        guarantee_holds=values[8] == 0,
    )
