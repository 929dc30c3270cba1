"""The SLA report through the API and the `chatti sla` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.databases import database_url_for
from tests.helpers import wait_until
from tests.servers import ChattiServer

FIELDS = {
    "accepted",
    "submitted",
    "pending",
    "oldest_pending_age_seconds",
    "failed",
    "possible_duplicates",
    "guarantee_holds",
    "delivered",
    "submitted_percent",
    "delivery_rate_percent",
    "since",
    "until",
    "overdue",
}


def test_sla_report_over_http_and_on_the_command_line(tmp_path: Path) -> None:
    with database_url_for("sqlite", tmp_path) as url:
        server = ChattiServer(tmp_path, url)
        server.start()
        try:
            with server.client(server.admin_key) as admin:
                batch = {
                    "messages": [
                        {"to": f"+49151123{n:05d}", "from": "Chatti", "text": "x"}
                        for n in range(30)
                    ]
                }
                assert admin.post("/v1/messages/batch", json=batch).status_code == 202

                def report() -> dict[str, object]:
                    body: dict[str, object] = admin.get("/v1/admin/sla").json()
                    return body

                wait_until(lambda: report()["delivered"] == 30, 20, "30 delivered")
                body = report()
                assert set(body) >= FIELDS
                assert (body["accepted"], body["submitted"], body["pending"]) == (30, 30, 0)
                assert body["guarantee_holds"] is True
                assert body["submitted_percent"] == 100.0
                future = admin.get("/v1/admin/sla", params={"since": "2999-01-01T00:00:00Z"}).json()
                assert future["accepted"] == 0
                assert admin.get("/v1/admin/sla", params={"since": "soon"}).status_code == 422
                shop = server.new_account("shop")
            with server.client(shop) as customer:
                assert customer.get("/v1/admin/sla").status_code == 403
        finally:
            server.stop()
        config = tmp_path / "chatti.toml"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "chatti",
                "sla",
                "--data-dir",
                str(tmp_path),
                "--config",
                str(config),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        printed = json.loads(result.stdout)
        assert (printed["accepted"], printed["pending"], printed["guarantee_holds"]) == (
            30,
            0,
            True,
        )
