"""MCP client scenarios against `spud serve`, driven by the official MCP Python SDK (`mcp`).

Each scenario connects like any MCP client would (stdio: the SDK launches `spud serve`;
HTTP: Streamable HTTP with a bearer token), does its part, and prints one JSON object on the
last line of stdout for the Rust integration tests (tests/mcp.rs) to check.

    python scenarios.py SCENARIO --mode legacy|auto (--url URL --token T | --spud BIN --home H --policy P [--principal NAME]) [...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


def outcome(result: types.CallToolResult) -> dict[str, Any]:
    return {"error": bool(result.is_error), "text": text_of(result)}


@contextlib.asynccontextmanager
async def connect(args: argparse.Namespace, token: str | None = None, handler=None, principal: str | None = None):
    """An MCP client session for this run's transport."""
    if args.url:
        token = token if token is not None else args.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with create_mcp_http_client(headers=headers) as http_client:
            transport = streamable_http_client(args.url, http_client=http_client)
            async with Client(transport, mode=args.mode, message_handler=handler) as client:
                yield client
    else:
        argv = ["--home", args.home, "--policy", args.policy, "serve"]
        principal = principal if principal is not None else args.principal
        if principal:
            argv += ["--principal", principal]
        argv += args.serve_arg or []
        params = StdioServerParameters(command=args.spud, args=argv, env=dict(os.environ))
        async with Client(params, mode=args.mode, message_handler=handler) as client:
            yield client


async def basics(args: argparse.Namespace) -> dict[str, Any]:
    async with connect(args) as c:
        listed = await c.list_tools()
        tools = {t.name: {"description": t.description, "input_schema": t.input_schema} for t in listed.tools}
        echo = await c.call_tool("hostile.echo", {"s": "hello"})
        denied = await c.call_tool("hostile.write-file", {"path": "/data/new.txt", "content": "x"})
        limit = await c.call_tool("hostile.alloc-mb", {"mb": 64})
        invalid = await c.call_tool("hostile.echo", {"s": 42})
        unknown = None
        try:
            await c.call_tool("hostile.nope", {})
        except Exception as e:  # the SDK raises MCPError for a protocol error
            unknown = str(e)
        return {
            "protocol": c.protocol_version,
            "server": c.server_info.name if c.server_info else None,
            "tools": tools,
            "echo": outcome(echo),
            "denied": outcome(denied),
            "limit": outcome(limit),
            "invalid": outcome(invalid),
            "unknown": unknown,
        }


async def hidden(args: argparse.Namespace) -> dict[str, Any]:
    async with connect(args) as c:
        names = sorted(t.name for t in (await c.list_tools()).tools)
        echo = await c.call_tool("hostile.echo", {"s": "visible"})
        refused = None
        try:
            await c.call_tool("hostile.spin", {"iterations": 1})
        except Exception as e:
            refused = str(e)
        return {"tools": names, "echo": outcome(echo), "refused": refused}


async def list_changed(args: argparse.Namespace) -> dict[str, Any]:
    changed = anyio.Event()

    async def handler(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async with connect(args, handler=handler) as c:
        before = sorted(t.name for t in (await c.list_tools()).tools)
        add = json.loads(args.add_cmd)
        how = "notification"
        with anyio.fail_after(30):
            if c.protocol_version >= "2026-07-28":
                how = "subscription"
                async with c.listen(tools_list_changed=True) as sub:
                    await anyio.to_thread.run_sync(lambda: subprocess.run(add, check=True, capture_output=True))
                    async for _event in sub:
                        break
            else:
                await anyio.to_thread.run_sync(lambda: subprocess.run(add, check=True, capture_output=True))
                await changed.wait()
        after = sorted(t.name for t in (await c.list_tools()).tools)
        return {"how": how, "before": before, "after": after}


async def concurrent(args: argparse.Namespace) -> dict[str, Any]:
    tokens = args.tokens.split(",") if args.tokens else [None]
    principals = args.principals.split(",") if args.principals else [None]
    results: list[dict[str, Any]] = []

    async def one_client(i: int) -> None:
        token = tokens[i % len(tokens)]
        principal = principals[i % len(principals)]
        async with connect(args, token=token, principal=principal) as c:
            async def one_call(j: int) -> None:
                s = f"client{i}-call{j}"
                r = await c.call_tool("hostile.echo", {"s": s})
                results.append({"client": i, "sent": s, "got": text_of(r), "error": bool(r.is_error)})

            async with anyio.create_task_group() as tg:
                for j in range(args.calls):
                    tg.start_soon(one_call, j)

    async with anyio.create_task_group() as tg:
        for i in range(args.clients):
            tg.start_soon(one_client, i)
    wrong = [r for r in results if r["got"] != r["sent"] or r["error"]]
    return {"calls": len(results), "wrong": wrong[:5], "wrong_count": len(wrong)}


async def busy(args: argparse.Namespace) -> dict[str, Any]:
    """Holds one slow call in flight, then makes another: over the principal's limit."""
    started = anyio.Event()

    async def progress(_p: float, _total: float | None, _message: str | None) -> None:
        started.set()

    async with connect(args) as c:
        slow_result: dict[str, Any] = {}

        async def slow() -> None:
            r = await c.call_tool("hostile.spin-forever", {}, progress_callback=progress)
            slow_result.update(outcome(r))

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow)
            with anyio.fail_after(30):
                await started.wait()
            second = outcome(await c.call_tool("hostile.echo", {"s": "second"}))
        after = outcome(await c.call_tool("hostile.echo", {"s": "after"}))
        return {"second": second, "slow": slow_result, "after": after}


async def cancel(args: argparse.Namespace) -> dict[str, Any]:
    """Cancels a long call once it reports progress; the server stays usable."""
    notes: list[str] = []
    started = anyio.Event()

    async def progress(p: float, total: float | None, message: str | None) -> None:
        notes.append(message or "")
        started.set()

    async with connect(args) as c:
        cancelled = False
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                async def long_call() -> None:
                    await c.call_tool("hostile.spin-forever", {}, progress_callback=progress)

                tg.start_soon(long_call)
                await started.wait()
                tg.cancel_scope.cancel()
                cancelled = True
        await anyio.sleep(0.5)
        after = outcome(await c.call_tool("hostile.echo", {"s": "still here"}))
        return {"cancelled": cancelled, "progress": notes[:3], "after": after}


async def agent(args: argparse.Namespace) -> dict[str, Any]:
    notes: list[str] = []

    async def progress(p: float, total: float | None, message: str | None) -> None:
        notes.append(message or "")

    plan = {
        "goal": "echo twice, the second from the first",
        "steps": [
            {"id": "one", "tool": "hostile.echo", "args": {"s": "first"}, "expect": {"contains": "first"}},
            {"id": "two", "after": ["one"], "tool": "hostile.echo", "args": {"s": "got ${one}"}},
        ],
    }
    forbidden = """
goal = "call a tool the caller may not use"
[[steps]]
id = "nope"
tool = "json.query"
args = { document = {}, path = "$" }
"""
    async with connect(args) as c:
        ok = await c.call_tool("run_agent", {"plan": plan, "budget": {"max_steps": 10}}, progress_callback=progress)
        refused = await c.call_tool("run_agent", {"plan": forbidden})
        bad = await c.call_tool("run_agent", {"plan": "goal = 3"})
        return {"ok": outcome(ok), "progress": notes, "refused": outcome(refused), "bad": outcome(bad)}


async def agent_goal(args: argparse.Namespace) -> dict[str, Any]:
    notes: list[str] = []

    async def progress(p: float, total: float | None, message: str | None) -> None:
        notes.append(message or "")

    async with connect(args) as c:
        r = await c.call_tool("run_agent", {"goal": "say hi", "budget": {"max_tokens": 5000}}, progress_callback=progress)
        return {"goal": outcome(r), "progress": notes}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """`tools/call` round trips with a trivial tool: sequential latency, then throughput with
    `--clients` clients each keeping 4 calls in flight."""
    import time

    async with connect(args) as c:
        for i in range(args.warmup):
            await c.call_tool("hostile.echo", {"s": str(i)})
        ms: list[float] = []
        for i in range(args.calls):
            t = time.perf_counter()
            r = await c.call_tool("hostile.echo", {"s": str(i)})
            ms.append((time.perf_counter() - t) * 1e3)
            if r.is_error or text_of(r) != str(i):
                raise RuntimeError(f"wrong answer: {text_of(r)}")
    ms.sort()

    # Clients connect first (over stdio each starts its own server); the clock runs only
    # while calls are made.
    per_worker = max(1, args.calls // (4 * args.clients))
    ready, go = [0], anyio.Event()
    all_ready = anyio.Event()
    clock: dict[str, float] = {}

    async def client() -> None:
        async with connect(args) as c:
            ready[0] += 1
            if ready[0] == args.clients:
                all_ready.set()
            await go.wait()

            async def worker(w: int) -> None:
                for i in range(per_worker):
                    r = await c.call_tool("hostile.echo", {"s": f"{w}-{i}"})
                    if r.is_error:
                        raise RuntimeError(text_of(r))

            async with anyio.create_task_group() as tg:
                for w in range(4):
                    tg.start_soon(worker, w)
            clock["end"] = time.perf_counter()

    async with anyio.create_task_group() as tg:
        for _ in range(args.clients):
            tg.start_soon(client)
        await all_ready.wait()
        clock["start"] = time.perf_counter()
        go.set()
    elapsed = clock["end"] - clock["start"]
    total = per_worker * 4 * args.clients
    return {
        "calls": len(ms),
        "p50_ms": ms[len(ms) // 2],
        "p99_ms": ms[min(len(ms) - 1, (len(ms) * 99) // 100)],
        "sequential_per_s": len(ms) / (sum(ms) / 1e3),
        "concurrent_calls": total,
        "concurrent_per_s": total / elapsed,
    }


async def bench_raw(args: argparse.Namespace) -> dict[str, Any]:
    """The HTTP floor without the SDK: plain JSON-RPC POSTs on one kept-alive connection
    (initialize, then sequential `tools/call`), to separate server time from client time."""
    import time

    h = {"Authorization": f"Bearer {args.token}", "Accept": "application/json, text/event-stream",
         "Content-Type": "application/json"}
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
    async with httpx2.AsyncClient() as c:
        r = await c.post(args.url, headers=h, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init})
        if r.headers.get("mcp-session-id"):
            h["mcp-session-id"] = r.headers["mcp-session-id"]
        h["mcp-protocol-version"] = "2025-06-18"
        await c.post(args.url, headers=h, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        ms: list[float] = []
        for i in range(args.warmup + args.calls):
            body = {"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                    "params": {"name": "hostile.echo", "arguments": {"s": str(i)}}}
            t = time.perf_counter()
            r = await c.post(args.url, headers=h, json=body)
            if i >= args.warmup:
                ms.append((time.perf_counter() - t) * 1e3)
            if f'"text":"{i}"' not in r.text:
                raise RuntimeError(f"wrong answer: {r.text[:200]}")
    ms.sort()
    return {"calls": len(ms), "p50_ms": ms[len(ms) // 2], "p99_ms": ms[min(len(ms) - 1, (len(ms) * 99) // 100)],
            "sequential_per_s": len(ms) / (sum(ms) / 1e3)}


async def auth(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, token in [("wrong", "not-a-token"), ("none", "")]:
        try:
            async with connect(args, token=token) as c:
                await c.list_tools()
            out[label] = "connected"
        except BaseException as e:  # the SDK surfaces the 401 as an exception (group)
            out[label] = repr(e)
    async with httpx2.AsyncClient() as h:
        r = await h.post(args.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                         headers={"Authorization": "Bearer not-a-token", "Accept": "application/json, text/event-stream"})
        out["status"] = r.status_code
        out["www_authenticate"] = r.headers.get("www-authenticate")
        big = "x" * (args.max_body + 1)
        r = await h.post(args.url, content=big, headers={"Authorization": f"Bearer {args.token}", "Content-Type": "application/json",
                                                         "Accept": "application/json, text/event-stream"})
        out["oversized_status"] = r.status_code

        async def chunks():  # no Content-Length: the limit must hold while the body is read
            for _ in range(args.max_body // 1024 + 2):
                yield b"x" * 1024

        try:
            r = await h.post(args.url, content=chunks(), headers={"Authorization": f"Bearer {args.token}", "Content-Type": "application/json",
                                                                  "Accept": "application/json, text/event-stream"})
            out["chunked_oversized"] = r.status_code
        except httpx2.TransportError as e:  # the server may answer early and close the connection
            out["chunked_oversized"] = f"closed: {e!r}"
    return out


async def rate(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"calls": [], "error": None}
    try:
        async with connect(args) as c:
            for i in range(args.calls):
                r = await c.call_tool("hostile.echo", {"s": str(i)})
                out["calls"].append(text_of(r))
    except BaseException as e:
        out["error"] = repr(e)
    async with httpx2.AsyncClient() as h:
        r = await h.post(args.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                         headers={"Authorization": f"Bearer {args.token}", "Accept": "application/json, text/event-stream"})
        out["status"] = r.status_code
        out["retry_after"] = r.headers.get("retry-after")
        out["body"] = r.text
    return out


async def shutdown(args: argparse.Namespace) -> dict[str, Any]:
    """Starts a slow call, sends the server SIGTERM while it runs: the call still completes."""
    started = anyio.Event()

    async def progress(_p: float, _total: float | None, _m: str | None) -> None:
        started.set()

    async with connect(args) as c:
        result: dict[str, Any] = {}

        async def slow() -> None:
            result.update(outcome(await c.call_tool("hostile.spin-forever", {}, progress_callback=progress)))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(slow)
                await started.wait()
                os.kill(args.server_pid, signal.SIGTERM)
        return {"slow": result}


async def hostile_io(args: argparse.Namespace) -> dict[str, Any]:
    """A guest reads stdin (over stdio, the MCP connection itself) and floods stderr; each is
    contained and the next call on the same connection is served."""
    async with connect(args) as c:
        stdin = await c.call_tool("hostile.read-stdin", {})
        after_stdin = await c.call_tool("hostile.echo", {"s": "after stdin"})
        flood = await c.call_tool("hostile.flood-stderr", {"bytes": 1_000_000})
        after_flood = await c.call_tool("hostile.echo", {"s": "after flood"})
        return {
            "stdin": outcome(stdin),
            "after_stdin": outcome(after_stdin),
            "flood": outcome(flood),
            "after_flood": outcome(after_flood),
        }


async def grace(args: argparse.Namespace) -> dict[str, Any]:
    """Starts a call that would run for 20 s and asks the server to stop (SIGTERM) while it
    runs: the call is cancelled once the server's grace period is over."""
    started = anyio.Event()

    async def progress(_p: float, _total: float | None, _m: str | None) -> None:
        started.set()

    result: dict[str, Any] = {}
    try:
        async with connect(args) as c:

            async def slow() -> None:
                try:
                    result.update(outcome(await c.call_tool("hostile.spin-forever", {}, progress_callback=progress)))
                except Exception as e:  # the server may go away before it answers
                    result["exception"] = type(e).__name__

            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(slow)
                    await started.wait()
                    os.kill(args.server_pid, signal.SIGTERM)
    except Exception as e:  # the connection closing with the server is not the point here
        result.setdefault("exception", type(e).__name__)
    return {"slow": result}


SCENARIOS = {f.__name__: f for f in [basics, hidden, list_changed, concurrent, busy, cancel, agent, agent_goal, bench, bench_raw, auth, rate, shutdown, hostile_io, grace]}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--mode", default="auto")
    p.add_argument("--url")
    p.add_argument("--token")
    p.add_argument("--tokens", help="comma-separated tokens, one per client in turn")
    p.add_argument("--spud")
    p.add_argument("--home")
    p.add_argument("--policy")
    p.add_argument("--principal")
    p.add_argument("--principals", help="comma-separated stdio principals, one per client in turn ('' = operator)")
    p.add_argument("--add-cmd", help="JSON argv that adds a tool (list_changed)")
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--max-body", type=int, default=4 << 20)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--server-pid", type=int)
    p.add_argument("--serve-arg", action="append", help="extra argument for `spud serve` (stdio)")
    args = p.parse_args()
    result = anyio.run(SCENARIOS[args.scenario], args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
