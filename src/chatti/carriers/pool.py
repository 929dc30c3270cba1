"""The carrier binds of this sender process: the SMPP clients of each configured
carrier, kept in step with the carriers table, with a health record and a rate limit
each.

A carrier's `binds` are the node's, not each process's: with several sender processes
they are shared out (bind_share), so the carrier sees the connections it granted, never
more: a process that cannot have a bind to every carrier holds none."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
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


def serving_processes(carriers: Iterable[Carrier], processes: int) -> int:
    """How many of the node's sender processes hold binds. Each claims messages for
    every route, so each needs a bind to every carrier: no more processes serve than
    the fewest binds a carrier grants. The others stay unbound."""
    fewest = min((carrier.binds for carrier in carriers), default=processes)
    return max(1, min(processes, fewest))


def bind_share(binds: int, serving: int, index: int) -> int:
    """How many of a carrier's `binds` sender process `index` (0-based) of the `serving`
    ones holds: an even split, the first processes taking the remainder."""
    if not 0 <= index < serving:
        raise ValueError(f"sender process {index} of {serving}")
    return binds // serving + (1 if index < binds % serving else 0)


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
        parked: bool = False,
    ) -> None:
        self._store = store
        # Parked: no bind is open, and sync() opens none until resume() (a helper
        # sender process without a backlog, dispatch/backlog.py). sync() still follows
        # the carriers, so that holds_binds is known.
        self.parked = parked
        self._processes = processes
        self._index = index
        self._serving = processes  # how many processes hold binds, for the carriers seen
        self._changing = asyncio.Lock()  # one of sync, park, resume, close at a time
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
        async with self._changing:
            await self._sync()

    async def _sync(self) -> None:
        wanted = {carrier.name: carrier for carrier in await queries.list_carriers(self._store)}
        serving = serving_processes(wanted.values(), self._processes)
        if serving != self._serving:
            self._serving = serving
            self._log_serving(wanted.values())
            await self._close()  # every share changes
        if self.parked or not self.holds_binds:
            return
        for name in list(self.live):
            if name not in wanted or wanted[name] != self.live[name].carrier:
                live = self.live.pop(name)
                log.info("carrier %s: stopping its bind", name)
                await live.binds.stop()
        for name, carrier in wanted.items():
            if name not in self.live:
                await self._start(carrier)

    @property
    def holds_binds(self) -> bool:
        """False for a process beyond what the carriers' binds allow (serving_processes)."""
        return self._index < self._serving

    def _log_serving(self, carriers: Iterable[Carrier]) -> None:
        if self._index != 0 or self._serving == self._processes:
            return
        fewest = min(carriers, key=lambda carrier: carrier.binds)
        log.warning(
            "carrier %s grants %d bind(s): %d of the %d sender processes hold binds,"
            " the others stay unbound",
            fewest.name,
            fewest.binds,
            self._serving,
            self._processes,
        )

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
        mine = bind_share(carrier.binds, self._serving, self._index)
        binds = CarrierBinds([SmppClient(config, handler) for _ in range(mine)])
        binds.start()
        self.live[carrier.name] = LiveCarrier(carrier, binds, mine / carrier.binds)
        log.info(
            "carrier %s: %d of the node's %d bind(s) to %s:%s",
            carrier.name,
            mine,
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

    async def park(self) -> None:
        """Unbind from every carrier and stay unbound until resume()."""
        async with self._changing:
            self.parked = True
            await self._close()

    async def resume(self) -> None:
        async with self._changing:
            self.parked = False
            await self._sync()

    async def close(self) -> None:
        async with self._changing:
            await self._close()

    async def _close(self) -> None:
        live, self.live = self.live, {}
        for carrier in live.values():
            await carrier.binds.stop()
