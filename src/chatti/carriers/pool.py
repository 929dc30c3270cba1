"""The carrier binds of this node: one SMPP client per configured carrier, kept in
step with the carriers table, with a health record and a rate limit each."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import InitVar, dataclass, field

from chatti.carriers.binds import CarrierBinds
from chatti.carriers.intake import ReceiptIntake
from chatti.dispatch.health import CarrierHealth
from chatti.dispatch.ratelimit import TokenBucket
from chatti.smpp.client import BindType, ClientConfig, SmppClient
from chatti.store import queries
from chatti.store.engine import Store
from chatti.store.models import Carrier

log = logging.getLogger(__name__)


@dataclass
class LiveCarrier:
    carrier: Carrier
    binds: CarrierBinds
    share: InitVar[int] = 1  # binds to this carrier across the node's sender processes
    health: CarrierHealth = field(default_factory=CarrierHealth)
    bucket: TokenBucket = field(init=False)

    def __post_init__(self, share: int) -> None:
        self.bucket = TokenBucket(self.carrier.max_tps / share)


class CarrierPool:
    def __init__(
        self,
        store: Store,
        intake: ReceiptIntake,
        *,
        response_timeout: float = 30.0,
        enquire_link_interval: float = 30.0,
        share: int = 1,
    ) -> None:
        self._store = store
        self._share = share
        self._intake = intake
        self._response_timeout = response_timeout
        self._enquire_link_interval = enquire_link_interval
        self.live: dict[str, LiveCarrier] = {}

    def get(self, name: str) -> LiveCarrier | None:
        return self.live.get(name)

    @property
    def window_slots(self) -> int:
        """Submits that may be in flight at once over the bound carriers."""
        return sum(live.carrier.window * live.binds.bound_count for live in self.live.values())

    @property
    def any_bound(self) -> bool:
        return any(live.binds.is_bound for live in self.live.values())

    def status(self) -> dict[str, dict[str, object]]:
        return {
            name: {
                "bound": live.binds.is_bound,
                "connections": len(live.binds.clients),
                "bound_connections": live.binds.bound_count,
                "binds": live.binds.binds,
                "last_error": live.binds.last_error,
            }
            for name, live in sorted(self.live.items())
        }

    async def sync(self) -> None:
        """Start binds for new carriers, restart changed ones, stop removed ones."""
        wanted = {carrier.name: carrier for carrier in await queries.list_carriers(self._store)}
        for name in list(self.live):
            if name not in wanted or wanted[name] != self.live[name].carrier:
                live = self.live.pop(name)
                log.info("carrier %s: stopping its bind", name)
                await live.binds.stop()
        for name, carrier in wanted.items():
            if name not in self.live:
                await self._start(carrier)

    async def _start(self, carrier: Carrier) -> None:
        config = ClientConfig(
            host=carrier.host,
            port=carrier.port,
            system_id=carrier.system_id,
            password=carrier.password,
            system_type=carrier.system_type,
            bind_type=BindType(carrier.bind_type),
            window=carrier.window,
            response_timeout=self._response_timeout,
            enquire_link_interval=self._enquire_link_interval,
        )
        handler = self._intake.handler_for(carrier.name)
        binds = CarrierBinds([SmppClient(config, handler) for _ in range(carrier.binds)])
        binds.start()
        self.live[carrier.name] = LiveCarrier(carrier, binds, self._share)
        log.info(
            "carrier %s: %d bind(s) to %s:%s",
            carrier.name,
            carrier.binds,
            carrier.host,
            carrier.port,
        )

    async def run(self, interval: float = 5.0) -> None:
        """Follow changes made through /v1/admin/carriers."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sync()
            except Exception:
                log.exception("carrier sync failed; keeping the current binds")

    async def close(self) -> None:
        for live in self.live.values():
            await live.binds.stop()
        self.live.clear()
