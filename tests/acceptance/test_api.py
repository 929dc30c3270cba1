"""The HTTP API against `chatti serve`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chatti.bench.ports import free_port
from tests.servers import ChattiServer

GOOD = {"to": "+4915112345678", "from": "Chatti", "text": "Your code is 1234"}


def message(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


@pytest.fixture
def key(server: ChattiServer) -> str:
    return server.new_account("acct-" + secrets.token_hex(3))


@pytest.fixture
def api(server: ChattiServer, key: str) -> Iterator[httpx.Client]:
    with server.client(key) as client:
        yield client


def test_accept_read_back_and_list(api: httpx.Client) -> None:
    reply = api.post("/v1/messages", json=message(reference="r-1", text="Grüße 😀"))
    assert reply.status_code == 202
    body = reply.json()
    assert body["status"] == "accepted"
    assert (body["country"], body["encoding"], body["segments"]) == ("DE", "ucs2", 1)
    fetched = api.get(f"/v1/messages/{body['id']}").json()
    assert fetched["text"] == "Grüße 😀"
    assert fetched["reference"] == "r-1"
    assert [change["status"] for change in fetched["history"]] == ["accepted"]
    listed = api.get("/v1/messages").json()
    assert [m["id"] for m in listed["messages"]] == [body["id"]]


def test_segments_and_country_come_from_the_message(api: httpx.Client) -> None:
    reply = api.post("/v1/messages", json=message(to="+33612345678", text="x" * 161))
    assert reply.status_code == 202
    assert (reply.json()["country"], reply.json()["segments"]) == ("FR", 2)


def test_pagination_with_cursor_and_filters(api: httpx.Client) -> None:
    ids = [
        api.post("/v1/messages", json=message(to=f"+49151123456{n:02d}")).json()["id"]
        for n in range(7)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/messages", params=params).json()
        seen.extend(m["id"] for m in page["messages"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    only = api.get("/v1/messages", params={"to": "+4915112345603"}).json()["messages"]
    assert [m["id"] for m in only] == [ids[3]]
    assert api.get("/v1/messages", params={"status": "delivered"}).json()["messages"] == []
    future = api.get("/v1/messages", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert future["messages"] == []
    assert api.get("/v1/messages", params={"since": "yesterday"}).status_code == 422
    assert api.get("/v1/messages", params={"status": "bogus"}).status_code == 422


def test_idempotency_same_body_one_message_other_body_409(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "order-" + secrets.token_hex(4)}
    first = api.post("/v1/messages", json=message(), headers=headers)
    again = api.post("/v1/messages", json=message(), headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    conflict = api.post("/v1/messages", json=message(text="other"), headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_key_reused"
    assert len(api.get("/v1/messages").json()["messages"]) == 1


def test_idempotent_batch(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "batch-" + secrets.token_hex(4)}
    batch = {"messages": [message(), message(to="+4915112345679")]}
    first = api.post("/v1/messages/batch", json=batch, headers=headers)
    again = api.post("/v1/messages/batch", json=batch, headers=headers)
    assert first.status_code == 202
    assert first.json() == again.json()
    assert len(api.get("/v1/messages").json()["messages"]) == 2


def test_tenant_isolation(server: ChattiServer, api: httpx.Client) -> None:
    other_key = server.new_account("other")
    mine = api.post("/v1/messages", json=message()).json()["id"]
    with server.client(other_key) as other:
        theirs = other.post("/v1/messages", json=message()).json()["id"]
        assert other.get(f"/v1/messages/{mine}").status_code == 404
        assert [m["id"] for m in other.get("/v1/messages").json()["messages"]] == [theirs]
    assert api.get(f"/v1/messages/{theirs}").status_code == 404
    assert theirs not in {m["id"] for m in api.get("/v1/messages").json()["messages"]}


def test_batch_accepts_exactly_the_good_ones(api: httpx.Client) -> None:
    batch = {
        "messages": [
            message(),
            message(to="12345"),
            message(text=""),
            "not an object",
            message(to="+4915112345679", surprise=True),
            message(to="+4915112345670"),
        ]
    }
    reply = api.post("/v1/messages/batch", json=batch)
    assert reply.status_code == 202
    body = reply.json()
    assert (body["accepted"], body["rejected"]) == (2, 4)
    results = body["results"]
    assert [("id" in r) for r in results] == [True, False, False, False, False, True]
    assert results[1]["error"]["details"][0]["code"] == "invalid_phone_number"
    assert results[2]["error"]["details"][0]["code"] == "empty_text"
    assert results[4]["error"]["details"][0]["code"] == "unknown_field"
    stored = {m["id"] for m in api.get("/v1/messages").json()["messages"]}
    assert stored == {results[0]["id"], results[5]["id"]}


def test_batch_with_nothing_good_is_422_and_stores_nothing(api: httpx.Client) -> None:
    reply = api.post("/v1/messages/batch", json={"messages": [message(to="0")]})
    assert reply.status_code == 422
    assert reply.json()["accepted"] == 0
    assert api.get("/v1/messages").json()["messages"] == []


def test_oversized_batch_is_refused(api: httpx.Client) -> None:
    reply = api.post("/v1/messages/batch", json={"messages": [message()] * 10_001})
    assert reply.status_code == 413
    assert reply.json()["error"]["code"] == "batch_too_large"
    assert api.get("/v1/messages").json()["messages"] == []


def test_ten_thousand_in_one_batch(api: httpx.Client) -> None:
    batch = {"messages": [message(to=f"+491511{n:07d}") for n in range(10_000)]}
    reply = api.post("/v1/messages/batch", json=batch)
    assert reply.status_code == 202
    assert reply.json()["accepted"] == 10_000


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (message(to="4915112345678"), 422, "invalid_phone_number"),
        (message(to="+999123"), 422, "invalid_phone_number"),
        (message(to="+49 151 1234"), 422, "invalid_phone_number"),
        (message(**{"from": "ThisIsTooLong"}), 422, "invalid_sender"),
        (message(**{"from": "1234567890123456"}), 422, "invalid_sender"),
        (message(**{"from": "Hi!"}), 422, "invalid_sender"),
        (message(text=""), 422, "empty_text"),
        (message(text="x" * 1601), 422, "text_too_long"),
        (message(validity_period=5), 422, "invalid_validity_period"),
        (message(callback_url="ftp://example"), 422, "invalid_url"),
        (message(extra=1), 422, "unknown_field"),
        ({"to": "+4915112345678"}, 422, "missing_field"),
        (message(text=5), 422, "invalid_value"),
    ],
)
def test_bad_messages_get_a_clear_4xx(api: httpx.Client, body: Any, status: int, code: str) -> None:
    reply = api.post("/v1/messages", json=body)
    assert reply.status_code == status
    error = reply.json()["error"]
    assert error["code"] == "validation_failed"
    assert code in {detail["code"] for detail in error["details"]}


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"{not json", "invalid_json"), (b"", "invalid_json"), (b"\xff\xfe", "invalid_json")],
)
def test_malformed_json_is_400(api: httpx.Client, raw: bytes, code: str) -> None:
    reply = api.post("/v1/messages", content=raw, headers={"content-type": "application/json"})
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == code
    # the same compact form as every other answer of the API
    assert reply.content == json.dumps(reply.json(), separators=(",", ":")).encode()


def test_json_that_is_not_an_object(api: httpx.Client) -> None:
    assert api.post("/v1/messages", json=[1, 2]).status_code == 422
    assert api.post("/v1/messages/batch", json={"messages": "x"}).status_code == 422
    assert api.post("/v1/messages/batch", json={"messages": []}).status_code == 422


def test_oversized_body_is_413(api: httpx.Client) -> None:
    reply = api.post(
        "/v1/messages",
        content=b"x" * (33 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 413
    assert reply.json()["error"]["code"] == "request_too_large"


def test_missing_or_bad_key_is_401(server: ChattiServer) -> None:
    with server.client() as anonymous:
        assert anonymous.post("/v1/messages", json=message()).status_code == 401
    with server.client("chatti_wrong") as wrong:
        reply = wrong.get("/v1/messages")
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "unauthorized"


def test_admin_routes_need_an_admin_key(server: ChattiServer, api: httpx.Client) -> None:
    assert api.get("/v1/admin/accounts").status_code == 403
    with server.client(server.admin_key) as admin:
        assert admin.get("/v1/admin/accounts").status_code == 200


def test_admin_manages_keys_carriers_and_routes(server: ChattiServer) -> None:
    with server.client(server.admin_key) as admin:
        created = admin.post("/v1/admin/accounts", json={"name": "shop"}).json()
        account_id = created["account"]["id"]
        second = admin.post(f"/v1/admin/accounts/{account_id}/keys").json()
        with server.client(second["api_key"]) as shop:
            assert shop.get("/v1/messages").status_code == 200
        assert admin.delete(f"/v1/admin/keys/{second['key']['id']}").status_code == 204
        with server.client(second["api_key"]) as shop:
            assert shop.get("/v1/messages").status_code == 401
        assert admin.post("/v1/admin/accounts/acct_nope/keys").status_code == 404

        carrier = {
            "host": "127.0.0.1",
            "port": free_port(),
            "system_id": "chatti",
            "password": "pw",
            "binds": 3,
        }
        assert admin.put("/v1/admin/carriers/acme", json=carrier).status_code == 200
        listed = {c["name"]: c for c in admin.get("/v1/admin/carriers").json()["carriers"]}
        assert (listed["acme"]["port"], listed["acme"]["binds"]) == (carrier["port"], 3)
        too_many = admin.put("/v1/admin/carriers/acme", json=carrier | {"binds": 33})
        assert too_many.status_code == 422
        assert "password" not in listed["acme"]
        routes = {
            "routes": [{"match": "DE", "carriers": ["acme"]}, {"match": "*", "carriers": ["acme"]}]
        }
        assert admin.put("/v1/admin/routes", json=routes).json() == routes
        assert admin.get("/v1/admin/routes").json() == routes
        bad = admin.put("/v1/admin/routes", json={"routes": [{"match": "*", "carriers": ["nope"]}]})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "unknown_carrier"


def test_health_readiness_and_openapi(server: ChattiServer) -> None:
    with server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        readiness = client.get("/readyz")
        assert readiness.status_code == 503  # no carrier bound
        assert readiness.json()["checks"]["store"] == "ok"
        schema = client.get("/openapi.json").json()
        assert "/v1/messages" in schema["paths"]
        # the sending routes are served before FastAPI, their entries added by hand
        assert "post" in schema["paths"]["/v1/messages"]
        assert "get" in schema["paths"]["/v1/messages"]
        batch = schema["paths"]["/v1/messages/batch"]["post"]
        assert batch["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
        assert client.get("/docs").status_code == 200
        assert client.get("/nowhere").json()["error"]["code"] == "not_found"
