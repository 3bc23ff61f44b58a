"""No Redis call blocks an event loop: inside `async def` in service/ and workers/, a call on the store, a Redis
connection or a session store is awaited (redis.asyncio), or runs in a thread (`asyncio.to_thread`,
`run_sync`). A static look at the code: a synchronous `store.get_section(...)` in a handler freezes every
other request of the process for as long as Redis takes (up to the socket timeout when it stalls)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "service"
# objects that talk to Redis, by the names the code gives them
REDIS_HOLDERS = {"store", "conn", "redis", "sessions", "records", "imports_store", "events_store"}
# calls on them that do no I/O
NO_IO = {"set_cookie", "register_script", "pipeline", "box"}
THREADED = {"to_thread", "run_sync", "run_in_threadpool", "wait_for"}


def _holder(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        if node.attr in REDIS_HOLDERS:
            return node.attr
        node = node.value
    return node.id if isinstance(node, ast.Name) and node.id in REDIS_HOLDERS else None


def _blocking_calls(fn: ast.AsyncFunctionDef) -> list[str]:
    exempt: set[int] = set()
    for node in ast.walk(fn):
        if node is not fn and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            exempt |= {id(n) for n in ast.walk(node)}  # runs elsewhere (a thread, a callback)
        elif isinstance(node, ast.Await):
            exempt |= {id(n) for n in ast.walk(node.value)}
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in THREADED:
                exempt |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(fn):
        if id(node) in exempt or not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr not in NO_IO and _holder(node.func.value):
            found.append(f"{fn.name}: {ast.unparse(node.func)}() at line {node.lineno}")
    return found


def test_no_async_function_calls_redis_synchronously():
    offenders = []
    for path in sorted([*SERVICE.rglob("*.py"), *(ROOT / "workers").rglob("*.py")]):
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.AsyncFunctionDef):
                offenders += [f"{path.relative_to(ROOT)}: {c}" for c in _blocking_calls(fn)]
    assert not offenders, "\n".join(offenders)


def test_the_check_sees_a_blocking_call():
    code = ast.parse("async def handler(request):\n"
                     "    store = request.app.state.store\n"
                     "    a = store.get_section('t', 'main')\n"
                     "    b = await asyncio.to_thread(store.get_section, 't', 'main')\n"
                     "    c = await run_sync(lambda: store.all_sections('t'))\n"
                     "    request.app.state.sessions.revoke(x)\n")
    found = _blocking_calls(code.body[0])
    assert [f.split(" at ")[0] for f in found] == ["handler: store.get_section()",
                                                    "handler: request.app.state.sessions.revoke()"]
