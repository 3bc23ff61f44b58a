"""service/transform/ is pure: it imports no client, store or web code (nor anything doing I/O)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "service" / "transform"
FORBIDDEN_PREFIXES = (
    "service.clients", "service.store", "service.web", "service.access", "service.config", "service.app",
    "service.redis_conn", "service.pim_schema", "service.media", "workers", "sandbox",
    "httpx", "redis", "rq", "starlette", "requests", "socket", "asyncio", "urllib.request",
)


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                names.append("service.transform." + (node.module or ""))
            else:
                names.append(node.module or "")
    return names


def test_transform_imports_nothing_impure():
    files = sorted(PACKAGE.glob("**/*.py"))
    assert len(files) >= 4  # the check must see the package
    offenders = [
        f"{path.name}: {name}"
        for path in files
        for name in _imports(path)
        if any(name == p or name.startswith(p + ".") for p in FORBIDDEN_PREFIXES)
    ]
    assert offenders == []


def test_the_check_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from service.clients.akeneo import AkeneoClient\nimport redis.asyncio\n")
    assert _imports(bad) == ["service.clients.akeneo", "redis.asyncio"]
