"""`chatti send`: send one message, or one text to every number of a CSV file, through
a running node's HTTP API, with a progress bar for files."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx

BATCH = 1000  # numbers per POST /v1/messages/batch
BAR_WIDTH = 30


class SendError(Exception):
    """Nothing could be sent; the message says why."""


def resolve_key(key: str | None, data_dir: Path) -> str:
    if key:
        return key
    if os.environ.get("CHATTI_API_KEY"):
        return os.environ["CHATTI_API_KEY"]
    path = data_dir / "demo-api-key"
    try:
        return path.read_text().strip()
    except OSError:
        raise SendError(
            f"no API key: give --key, set CHATTI_API_KEY, or run from where {path} is"
        ) from None


def read_numbers(path: Path) -> list[str]:
    """The first column of each row; a first row without digits is a header."""
    try:
        with path.open(newline="") as file:
            rows = [row for row in csv.reader(file) if row and row[0].strip()]
    except OSError as error:
        raise SendError(f"cannot read {path}: {error.strerror}") from None
    if rows and not any(char.isdigit() for char in rows[0][0]):
        rows = rows[1:]
    return [row[0].strip() for row in rows]


def send_one(client: httpx.Client, to: str, text: str, sender: str) -> dict[str, Any]:
    reply = _post(client, "/v1/messages", {"to": to, "from": sender, "text": text})
    body: dict[str, Any] = reply.json()
    if reply.status_code != 202:
        raise SendError(_describe(body))
    return body


def send_file(
    client: httpx.Client, numbers: list[str], text: str, sender: str, progress: TextIO
) -> tuple[int, list[tuple[str, str]]]:
    """Returns (accepted, [(number, why) for each rejected])."""
    accepted = 0
    rejected: list[tuple[str, str]] = []
    for chunk in _chunks(numbers, BATCH):
        payload = {"messages": [{"to": number, "from": sender, "text": text} for number in chunk]}
        reply = _post(client, "/v1/messages/batch", payload)
        body = reply.json()
        if reply.status_code not in (202, 422) or "results" not in body:
            raise SendError(_describe(body))
        for number, result in zip(chunk, body["results"], strict=True):
            if "id" in result:
                accepted += 1
            else:
                rejected.append((number, _describe(result)))
        _draw(progress, accepted + len(rejected), len(numbers), accepted, len(rejected))
    progress.write("\n")
    return accepted, rejected


def _post(client: httpx.Client, path: str, payload: dict[str, Any]) -> httpx.Response:
    try:
        reply = client.post(path, json=payload)
    except httpx.HTTPError as error:
        raise SendError(f"cannot reach {client.base_url}: {error}") from None
    if reply.status_code in (401, 403):
        raise SendError(_describe(reply.json()))
    return reply


def _describe(body: dict[str, Any]) -> str:
    error = body.get("error", {})
    details = "; ".join(f"{d['field']}: {d['message']}" for d in error.get("details", []))
    return details or error.get("message") or json.dumps(body)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _draw(out: TextIO, done: int, total: int, accepted: int, rejected: int) -> None:
    filled = BAR_WIDTH * done // max(1, total)
    out.write(
        f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}"
        f"  accepted {accepted}  rejected {rejected}"
    )
    out.flush()


def main(
    url: str,
    key: str | None,
    data_dir: Path,
    to: str | None,
    file: Path | None,
    text: str,
    sender: str,
) -> int:
    try:
        api_key = resolve_key(key, data_dir)
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=120
        ) as client:
            if to is not None:
                body = send_one(client, to, text, sender)
                print(json.dumps(body))
                return 0
            assert file is not None
            numbers = read_numbers(file)
            if not numbers:
                raise SendError(f"{file} holds no number")
            accepted, rejected = send_file(client, numbers, text, sender, sys.stderr)
    except SendError as error:
        print(f"chatti send: {error}", file=sys.stderr)
        return 2
    for number, why in rejected[:20]:
        print(f"rejected {number}: {why}", file=sys.stderr)
    if len(rejected) > 20:
        print(f"... and {len(rejected) - 20} more rejected", file=sys.stderr)
    print(json.dumps({"accepted": accepted, "rejected": len(rejected)}))
    return 1 if rejected else 0
