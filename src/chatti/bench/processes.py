"""Pieces shared by the benchmarks and fault tests that run Chatti as processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chatti.bench.ports import wait_for_port


def start_simulator(port: int, stats_port: int, *options: str) -> subprocess.Popen[bytes]:
    """`chatti simulator` in its own process, listening once this returns."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chatti",
            "simulator",
            "--port",
            str(port),
            "--stats-port",
            str(stats_port),
            "--log-level",
            "warning",
            *options,
        ],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port)
    wait_for_port(stats_port)
    return process


def carrier_toml(
    port: int,
    *,
    name: str = "sim",
    window: int = 100,
    binds: int = 1,
    max_tps: int = 0,
    route: bool = True,
) -> str:
    """A [[carriers]] entry for a local simulator and, by default, the route "*" to it."""
    text = (
        f'[[carriers]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {port}\n'
        f'system_id = "chatti"\npassword = "x"\nwindow = {window}\nbinds = {binds}\n'
        f"max_tps = {max_tps}\n"
    )
    if route:
        text += f'\n[[routes]]\nmatch = "*"\ncarriers = ["{name}"]\n'
    return text


def serve_command(data_dir: Path, port: int) -> list[str]:
    """`chatti serve` on DATA_DIR/chatti.toml, quiet, on 127.0.0.1:port."""
    return [
        sys.executable,
        "-m",
        "chatti",
        "serve",
        "--data-dir",
        str(data_dir),
        "--config",
        str(data_dir / "chatti.toml"),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def child_processes(pid: int) -> dict[str, int]:
    """The processes `pid` started (`chatti serve`: its sender processes), by module
    name (`python -m chatti.sender_process` -> "sender process", then "sender process 2"
    and on)."""
    found: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            name = command[2].decode() if len(command) > 2 and command[1] == b"-m" else child
            name = name.removeprefix("chatti.").replace("_", " ")
            number = 1
            while (f"{name} {number}" if number > 1 else name) in found:
                number += 1
            found[f"{name} {number}" if number > 1 else name] = int(child)
    return found
