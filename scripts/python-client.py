#!/usr/bin/env python3
"""Drive this server with the official Python MCP SDK (`mcp` 2.3.0): both eras over HTTP, and stdio.

  python scripts/python-client.py [BASE_URL]        # BASE_URL or $WHATSAPP_URL, e.g. http://127.0.0.1:8790

Checks, each bounded by a timeout; exits non-zero on the first failure:
  http-modern   Client(url, mode="2026-07-28") (pinned: no initialize, no probe); server/discover; tools/list;
                tools/call whatsapp_status; subscriptions/listen on whatsapp://chats/<chat> (Client.listen), then an
                inbound sandbox message (POST /api/sandbox/inbound) must arrive as a ResourceUpdated event.
  http-auto     Client(url) (mode="auto", the SDK default) must negotiate 2026-07-28 through server/discover.
  http-legacy   Client(url, mode="legacy"): initialize + session; tools/list; whatsapp_status; resources/subscribe,
                then the inbound message must arrive as notifications/resources/updated (message_handler).
  stdio         Client(StdioServerParameters("node dist/cli.js --stdio")) in auto (modern) and legacy mode:
                tools/list, whatsapp_status. Sandbox engine, temp auth/data dirs.

The server must run the sandbox engine (WHATSAPP_ENGINE=sandbox): the script links it with POST /api/sandbox/link.
With WHATSAPP_API_KEY set, every HTTP request carries it as a bearer token.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp import Client, MCPDeprecationWarning, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ResourceUpdated
from mcp.shared._httpx_utils import create_mcp_http_client

STEP_TIMEOUT = float(os.environ.get("PY_CLIENT_STEP_TIMEOUT", "15"))  # seconds, any one step
NOTIFY_TIMEOUT = float(os.environ.get("PY_CLIENT_NOTIFY_TIMEOUT", "10"))  # seconds, waiting for a notification
TOTAL_TIMEOUT = float(os.environ.get("PY_CLIENT_TOTAL_TIMEOUT", "120"))  # seconds, the whole run
MODERN = "2026-07-28"
SANDBOX_CONTACT = "15550001001"  # a saved contact of the sandbox account
CHAT_URI = f"whatsapp://chats/{SANDBOX_CONTACT}@c.us"
REPO = Path(__file__).resolve().parent.parent

# The SDK flags resources/subscribe as removed in 2026-07-28; the legacy check calls it on purpose.
warnings.simplefilter("ignore", MCPDeprecationWarning)


def log(msg: str) -> None:
    print(f"python-client: {msg}", flush=True)


class Failure(Exception):
    pass


@contextmanager
def bounded(what: str, seconds: float = STEP_TIMEOUT) -> Iterator[None]:
    """Fail the run, naming the step, when the block takes longer than `seconds`."""
    try:
        with anyio.fail_after(seconds):
            yield
    except TimeoutError:
        raise Failure(f"{what}: no answer within {seconds:g}s") from None


def check(cond: bool, what: str) -> None:
    if not cond:
        raise Failure(what)


def auth_headers() -> dict[str, str]:
    key = os.environ.get("WHATSAPP_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", **auth_headers()},
    )
    try:
        with urllib.request.urlopen(req, timeout=STEP_TIMEOUT) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


async def rest(base: str, path: str, body: dict[str, Any]) -> Any:
    """POST to the REST API off the event loop (the SSE readers keep running meanwhile)."""
    status, data = await anyio.to_thread.run_sync(_post_json, base + path, body)
    check(200 <= status < 300, f"POST {path} -> HTTP {status}: {data}")
    return data


def client_for(url: str, **kw: Any) -> Client:
    headers = auth_headers()
    if not headers:
        return Client(url, read_timeout_seconds=STEP_TIMEOUT, **kw)
    transport = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    return Client(transport, read_timeout_seconds=STEP_TIMEOUT, **kw)


def tool_text(result: types.CallToolResult) -> str:
    parts = [c.text for c in result.content if isinstance(c, types.TextContent)]
    return " ".join(parts)[:200]


async def tools_and_status(client: Client, label: str) -> None:
    with bounded(f"{label}: tools/list"):
        tools = (await client.list_tools()).tools
    names = [t.name for t in tools]
    check("whatsapp_status" in names, f"{label}: whatsapp_status not in tools/list ({names})")
    log(f"{label}: tools/list -> {len(names)} tools ({', '.join(names[:4])}, ...)")
    with bounded(f"{label}: tools/call whatsapp_status"):
        status = await client.call_tool("whatsapp_status", {})
    check(not status.is_error, f"{label}: whatsapp_status returned isError: {tool_text(status)}")
    shown = json.dumps(status.structured_content)[:200] if status.structured_content is not None else tool_text(status)
    log(f"{label}: tools/call whatsapp_status -> {shown}")


async def inbound(base: str, label: str) -> None:
    body = f"hello from the Python SDK ({label}, {time.time():.3f})"
    res = await rest(base, "/api/sandbox/inbound", {"from": SANDBOX_CONTACT, "body": body})
    log(f"{label}: POST /api/sandbox/inbound from {SANDBOX_CONTACT} -> {json.dumps(res)[:160]}")


async def http_modern(base: str) -> None:
    label = "http-modern"
    async with client_for(f"{base}/mcp", mode=MODERN) as client:
        check(client.protocol_version == MODERN, f"{label}: protocol {client.protocol_version}")
        with bounded(f"{label}: server/discover"):
            discover = types.DiscoverResult.model_validate(await client.session.send_discover(MODERN))
        check(MODERN in discover.supported_versions, f"{label}: server/discover lists {discover.supported_versions}")
        log(f"{label}: server/discover -> supportedVersions {discover.supported_versions}")
        await tools_and_status(client, label)

        # Entering waits (bounded by read_timeout_seconds) for notifications/subscriptions/acknowledged.
        with bounded(f"{label}: subscriptions/listen", STEP_TIMEOUT + NOTIFY_TIMEOUT):
            async with client.listen(resource_subscriptions=[CHAT_URI]) as sub:
                honored = list(sub.honored.resource_subscriptions or [])
                check(CHAT_URI in honored, f"{label}: listen acknowledged {honored}, not {CHAT_URI}")
                log(f"{label}: subscriptions/listen acknowledged (id {sub.subscription_id}): {honored}")
                await inbound(base, label)
                started = time.monotonic()
                with bounded(f"{label}: waiting for notifications/resources/updated {CHAT_URI}", NOTIFY_TIMEOUT):
                    async for event in sub:
                        if isinstance(event, ResourceUpdated) and event.uri == CHAT_URI:
                            break
                        log(f"{label}: (other event {event})")
                    else:
                        raise Failure(f"{label}: listen stream ended before the update")
                log(f"{label}: notifications/resources/updated {CHAT_URI} after {time.monotonic() - started:.2f}s")
        with bounded(f"{label}: resources/read"):
            read = await client.read_resource(CHAT_URI, cache_mode="bypass")
        text = next((c.text for c in read.contents if isinstance(c, types.TextResourceContents)), "")
        check("hello from the Python SDK (http-modern" in text, f"{label}: resources/read does not show the message")
        log(f"{label}: resources/read {CHAT_URI} shows the message")


async def http_auto(base: str) -> None:
    label = "http-auto"
    async with client_for(f"{base}/mcp") as client:
        check(client.protocol_version == MODERN, f"{label}: auto mode negotiated {client.protocol_version}, not {MODERN}")
        check(client.session.discover_result is not None, f"{label}: no server/discover result")
        info = client.server_info
        log(f"{label}: negotiated {client.protocol_version} via server/discover (server {info.name if info else '?'})")


async def http_legacy(base: str) -> None:
    label = "http-legacy"
    updates: list[str] = []
    got_update = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updates.append(message.params.uri)
            if message.params.uri == CHAT_URI:
                got_update.set()

    async with client_for(f"{base}/mcp", mode="legacy", message_handler=on_message) as client:
        check(client.session.initialize_result is not None, f"{label}: no initialize result")
        check(client.protocol_version == "2025-11-25", f"{label}: negotiated {client.protocol_version}")
        caps = client.server_capabilities
        check(bool(caps.resources and caps.resources.subscribe), f"{label}: resources.subscribe not declared")
        log(f"{label}: initialize -> {client.protocol_version}, server {client.server_info.name if client.server_info else '?'}")
        await tools_and_status(client, label)
        with bounded(f"{label}: resources/subscribe"):
            await client.subscribe_resource(CHAT_URI)
        log(f"{label}: resources/subscribe {CHAT_URI}")
        # The SDK opens the session's GET stream (where the update comes) after notifications/initialized, in the
        # background: if the first update beats it, send another, up to three in all.
        started = time.monotonic()
        for attempt in range(1, 4):
            await inbound(base, label)
            with anyio.move_on_after(NOTIFY_TIMEOUT / 2 if attempt < 3 else NOTIFY_TIMEOUT):
                await got_update.wait()
            if got_update.is_set():
                break
            log(f"{label}: no update yet after inbound #{attempt}")
        check(got_update.is_set(), f"{label}: no notifications/resources/updated for {CHAT_URI} (got {updates})")
        log(f"{label}: notifications/resources/updated {CHAT_URI} after {time.monotonic() - started:.2f}s (inbound #{attempt})")
        with bounded(f"{label}: resources/unsubscribe"):
            await client.unsubscribe_resource(CHAT_URI)


async def stdio(mode: str) -> None:
    label = f"stdio-{mode}"
    with tempfile.TemporaryDirectory(prefix="wa-py-stdio-") as tmp:
        params = StdioServerParameters(
            command="node",
            args=[str(REPO / "dist" / "cli.js"), "--stdio"],
            cwd=str(REPO),
            env={
                "WHATSAPP_ENGINE": "sandbox",
                "WHATSAPP_AUTH_DIR": f"{tmp}/auth",
                "WHATSAPP_DATA_DIR": f"{tmp}/data",
                "LOG_LEVEL": "warn",
            },
        )
        # Spawn, handshake, two requests and shutdown: each request is bounded by read_timeout_seconds, the whole
        # by this scope.
        with bounded(f"{label}: spawn, handshake, requests, shutdown", 3 * STEP_TIMEOUT):
            async with Client(params, mode=mode, read_timeout_seconds=STEP_TIMEOUT) as client:
                want = MODERN if mode == "auto" else "2025-11-25"
                check(client.protocol_version == want, f"{label}: negotiated {client.protocol_version}, not {want}")
                log(f"{label}: spawned node dist/cli.js --stdio, negotiated {client.protocol_version}")
                await tools_and_status(client, label)


async def main(base: str) -> None:
    log(f"server {base}, mcp {_mcp_version()}, step timeout {STEP_TIMEOUT}s")
    with bounded("POST /api/sandbox/link"):
        linked = await rest(base, "/api/sandbox/link", {})
    log(f"POST /api/sandbox/link -> {json.dumps(linked)[:160]}")
    checks = [
        ("http-modern", lambda: http_modern(base)),
        ("http-auto", lambda: http_auto(base)),
        ("http-legacy", lambda: http_legacy(base)),
        ("stdio-auto", lambda: stdio("auto")),
        ("stdio-legacy", lambda: stdio("legacy")),
    ]
    for name, run in checks:
        started = time.monotonic()
        with bounded(name, 4 * STEP_TIMEOUT):
            await run()
        log(f"PASS {name} ({time.monotonic() - started:.2f}s)")


def _leaves(e: BaseException) -> list[BaseException]:
    if isinstance(e, BaseExceptionGroup):
        return [leaf for sub in e.exceptions for leaf in _leaves(sub)]
    return [e]


def _mcp_version() -> str:
    from importlib.metadata import version

    return version("mcp")


if __name__ == "__main__":
    base = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("WHATSAPP_URL", "")).rstrip("/")
    if base.endswith("/mcp"):
        base = base[: -len("/mcp")]
    if not base:
        print("usage: python-client.py BASE_URL (or WHATSAPP_URL), e.g. http://127.0.0.1:8790", file=sys.stderr)
        sys.exit(2)

    async def run_all() -> None:
        with bounded("the whole run", TOTAL_TIMEOUT):
            await main(base)

    try:
        anyio.run(run_all)
    except BaseException as e:  # noqa: BLE001 - any SDK error is a failed check
        # Task groups (the SDK's and anyio's) wrap what failed: report the innermost errors.
        leaves = _leaves(e)
        for leaf in leaves:
            log(f"FAIL {leaf}" if isinstance(leaf, Failure) else f"FAIL {type(leaf).__name__}: {leaf}")
        if not all(isinstance(leaf, Failure) for leaf in leaves):
            import traceback

            traceback.print_exception(e)
        sys.exit(1)
    log("all checks passed")
