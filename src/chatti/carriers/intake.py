"""Receipt intake: a deliver_sm becomes a stored receipt before it is acknowledged.

Receipts from all binds go through one group commit, the one the dispatcher records
its submits with (sending.stage_outcomes), so thousands a second cost a handful of
disk flushes. The SMPP client answers deliver_sm_resp only once the future `handle`
returns is done, that is after the commit: a crash before it leaves the receipt with
the carrier, which delivers it again. If the store fails, the future fails and the
carrier is told ESME_RX_T_APPN (try again later).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from chatti.smpp import pdu as p
from chatti.smpp.client import DeliverHandler
from chatti.smpp.constants import CommandStatus, MessageState
from chatti.smpp.receipts import is_receipt, message_id_variants, parse_receipt
from chatti.store import sending
from chatti.store.group_commit import GroupCommitter
from chatti.store.models import MessageStatus
from chatti.store.queries import now_us

log = logging.getLogger(__name__)

_OUTCOMES = {
    MessageState.DELIVERED: MessageStatus.DELIVERED,
    MessageState.EXPIRED: MessageStatus.EXPIRED,
    MessageState.UNDELIVERABLE: MessageStatus.UNDELIVERED,
    MessageState.REJECTED: MessageStatus.UNDELIVERED,
    MessageState.DELETED: MessageStatus.UNDELIVERED,
    MessageState.UNKNOWN: MessageStatus.UNDELIVERED,
}


class ReceiptIntake:
    def __init__(self, committer: GroupCommitter[sending.Outcome, None]) -> None:
        self._committer = committer  # shared with the dispatcher: one commit for both
        self.received = 0
        self.ignored = 0

    def handler_for(self, carrier: str) -> DeliverHandler:
        return partial(self.handle, carrier)

    def handle(self, carrier: str, pdu: p.DeliverSm | p.DataSm) -> int | asyncio.Future[None]:
        """The status to answer at once, or a future done when the receipt is committed
        (no task per receipt: the answer leaves from the future's callback)."""
        if not is_receipt(pdu):
            log.info(
                "%s: inbound message from %s ignored (not supported yet)", carrier, pdu.source_addr
            )
            return CommandStatus.ESME_ROK
        receipt = parse_receipt(pdu)
        if receipt is None or receipt.state not in _OUTCOMES:
            # intermediate (ENROUTE, ACCEPTD) or unreadable: acknowledged, nothing to record
            self.ignored += 1
            return CommandStatus.ESME_ROK
        self.received += 1
        update = sending.ReceiptUpdate(
            carrier=carrier,
            carrier_message_ids=message_id_variants(receipt.message_id),
            status=_OUTCOMES[receipt.state],
            error=receipt.error or None,
            received_at=now_us(),
        )
        return self._committer.enqueue(update)
