"""The carrier binds of this sender process: the SMPP clients of each configured
carrier, kept in step with the carriers table, with a health record and a rate limit
each.

A carrier's `binds` are the node's, not each process's: with several sender processes
they are shared out (bind_share), so the carrier sees the connections it granted."""

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


def bind_share(binds: int, processes: int, index: int) -> int:
    """How many of a carrier's `binds` sender process `index` (0-based) of `processes`
    holds: an even split, the first processes taking the remainder. Every process holds
    at least one, since each claims messages for every route: with fewer binds than
    processes the carrier sees one bind per process (the pool warns)."""
    if not 0 <= index < processes:
        raise ValueError(f"sender process {index} of {processes}")
    if binds < processes:
        return 1
    return binds // processes + (1 if index < binds % processes else 0)


@dataclass
class LiveCarrier:
    carrier: Carrier
    binds: CarrierBinds
    # this process's part of the node's binds to the carrier, which shares max_tps
    share: InitVar[float] = 1.0
    health: CarrierHealth = field(default_factory=CarrierHealth)
    bucket: TokenBucket = field(init=False)

    def __post_init__(self, share: float) -> None:
        self.bucket = TokenBucket(self.carrier.max_tps * share)


class CarrierPool:
    def __init__(
        self,
        store: Store,
        intake: ReceiptIntake,
        *,
        response_timeout: float = 30.0,
        enquire_link_interval: float = 30.0,
        processes: int = 1,
        index: int = 0,
    ) -> None:
        self._store = store
        self._processes = processes
        self._index = index
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
        mine = bind_share(carrier.binds, self._processes, self._index)
        node_total = max(carrier.binds, self._processes)
        if carrier.binds < self._processes and self._index == 0:
            log.warning(
                "carrier %s: binds = %d, but each of the %d sender processes needs one:"
                " the carrier sees %d binds from this node",
                carrier.name,
                carrier.binds,
                self._processes,
                node_total,
            )
        binds = CarrierBinds([SmppClient(config, handler) for _ in range(mine)])
        binds.start()
        self.live[carrier.name] = LiveCarrier(carrier, binds, mine / node_total)
        log.info(
            "carrier %s: %d of the node's %d bind(s) to %s:%s",
            carrier.name,
            mine,
            node_total,
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
