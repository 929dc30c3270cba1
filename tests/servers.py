"""`chatti serve` as a subprocess, the way a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from chatti.bench.ports import free_port, wait_for_port


@dataclass
class ChattiServer:
    data_dir: Path
    database_url: str
    port: int = 0
    extra_config: str = ""  # appended to the generated chatti.toml
    log_level: str = "warning"
    process: subprocess.Popen[bytes] | None = None
    output: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not self.port:
            self.port = free_port()
        config = self.data_dir / "chatti.toml"
        config.write_text(f'[database]\nurl = "{self.database_url}"\n{self.extra_config}')
        self.output = self.data_dir / "serve.log"
        with self.output.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "chatti",
                    "serve",
                    "--data-dir",
                    str(self.data_dir),
                    "--config",
                    str(config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    self.log_level,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            wait_for_port(self.port, timeout=30)
        except RuntimeError:
            self.process.kill()
            self.process.wait()
            self.process = None
            raise

    @property
    def admin_key(self) -> str:
        return (self.data_dir / "demo-api-key").read_text().strip()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, as a crash or a power cut would leave it."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)
        self.process = None

    def stop(self, sig: int = signal.SIGINT) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(30)
        self.process = None
        return code

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def new_account(self, name: str, admin: bool = False) -> str:
        """Create an account through the admin API; return its API key."""
        with self.client(self.admin_key) as client:
            reply = client.post("/v1/admin/accounts", json={"name": name, "admin": admin})
            reply.raise_for_status()
            key: str = reply.json()["api_key"]
            return key
