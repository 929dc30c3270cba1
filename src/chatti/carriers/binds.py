"""The binds kept to one carrier. Carriers commonly grant an account several; each has
its own window of submits (and of receipts) in flight, so one bind caps a carrier link
at window / round trip, whatever the CPU. A submit leaves on the bound connection with
the most room in its window, and moves to another one if its bind went away."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from chatti.smpp import pdu as p
from chatti.smpp.client import SmppClient
from chatti.smpp.connection import Outcome, OutcomeKind


class CarrierBinds:
    def __init__(self, clients: Sequence[SmppClient]) -> None:
        if not clients:
            raise ValueError("a carrier needs at least one bind")
        self.clients = tuple(clients)

    @property
    def is_bound(self) -> bool:
        return any(client.is_bound for client in self.clients)

    @property
    def bound_count(self) -> int:
        return sum(client.is_bound for client in self.clients)

    @property
    def binds(self) -> int:
        """Successful binds so far, over all connections (health reports)."""
        return sum(client.binds for client in self.clients)

    @property
    def last_error(self) -> str:
        return next((client.last_error for client in self.clients if client.last_error), "")

    def start(self) -> None:
        for client in self.clients:
            client.start()

    async def request(self, pdu: p.Pdu) -> Outcome:
        if len(self.clients) == 1:
            return await self.clients[0].request(pdu)
        outcome = Outcome(OutcomeKind.NOT_BOUND)
        tried: set[int] = set()
        while len(tried) < len(self.clients):
            candidates = [
                (client.window_free, -number, client)
                for number, client in enumerate(self.clients)
                if number not in tried and client.is_bound
            ]
            if not candidates:
                break
            _free, negative_number, client = max(candidates, key=lambda c: c[:2])
            tried.add(-negative_number)
            outcome = await client.request(pdu)
            if outcome.kind is not OutcomeKind.NOT_BOUND:
                return outcome
        return outcome

    async def stop(self) -> None:
        await asyncio.gather(*(client.stop() for client in self.clients))
