"""The layers of service/ and workers/, read from the source with `ast` (nothing is imported):

- no import cycle among their modules: every import counts, at module level, inside a function, or under
  `if TYPE_CHECKING` (a cycle a type checker needs is still a knot to untie);
- only `service/app.py` (the routes table) and `service/cli.py` import `service.web` from outside it: the
  policy a handler calls never knows about HTTP;
- no HTTP handler (a `Request` in, a `Response` out) outside `service/web/`;
- `service/` imports `workers/` only in `service/cli.py` (jobs are enqueued by their dotted names);
- nothing in either imports `sandbox/` (the stand-in PIM and store are for tests and the demo's processes);
- only `service/store/` knows Redis keys: no string literal (f-strings included) outside it starts a
  connector key (`connector:` followed by a key part) or names an RQ key (`rq:`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("service", "workers")
MAY_IMPORT_WEB = {"service.app", "service.cli"}
MAY_IMPORT_WORKERS = {"service.cli"}


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the packages (a package is its __init__)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every dotted name the module imports, with its line: `from a import b` says both `a` and `a.b`
    (b may be a module or a name in a)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: against the module's package
                base = ".".join([*package[:len(package) - node.level + 1], *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of the packages it imports (a name inside a module counts as that module)."""
    known = modules(root)
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for imported, _ in imported_names(name, path):
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def offenders(prefix: str, allowed: set[str], root: Path = ROOT, *, within: str = "") -> list[str]:
    """`module:line imported` for each import of `prefix` by a module of `within` (all when empty) that is
    neither in `allowed` nor inside `prefix` itself."""
    found = []
    for name, path in modules(root).items():
        if name in allowed or _within(name, prefix) or (within and not _within(name, within)):
            continue
        hits = {(line, imported) for imported, line in imported_names(name, path) if _within(imported, prefix)}
        # `from a.b import c` says a.b and a.b.c: name the statement once, by the module it imports from
        found += [f"{name}:{line} {imported}" for line, imported in sorted(hits)
                  if not any(other != imported and _within(imported, other) for n, other in hits if n == line)]
    return found


def _annotation(node: ast.expr | None) -> str:
    return ast.unparse(node) if node is not None else ""


def handlers_outside_web(root: Path = ROOT) -> list[str]:
    """Functions outside service/web/ (and the app) that take a `Request` and return a `…Response`."""
    found = []
    for name, path in modules(root).items():
        if _within(name, "service.web") or name == "service.app":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            takes_request = any(_annotation(a.annotation).split(".")[-1] == "Request"
                                for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs])
            if takes_request and "Response" in _annotation(node.returns):
                found.append(f"{name}:{node.lineno} {node.name}")
    return found


# --- the layers of this repository ----------------------------------------------------------------------


KEY_PREFIXES = ("connector:", "rq:")


def redis_keys_outside_the_store(root: Path = ROOT) -> list[str]:
    """`module:line text` for every string that starts a Redis key outside service/store/ (an f-string's
    literal parts count: `f"connector:tenant:{t}"` is a key)."""
    found = []
    for name, path in modules(root).items():
        if _within(name, "service.store"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                text = str(node.values[0].value)
            else:
                continue
            # "connector: a message" (the CLI's prefix) is prose, not a key: a key goes on without a space
            if any(text.startswith(p) and len(text) > len(p) and not text[len(p)].isspace() for p in KEY_PREFIXES):
                found.append(f"{name}:{node.lineno} {text[:40]}")
    return sorted(set(found))


def test_the_check_sees_the_packages():
    known = modules()
    assert {"service.app", "service.web.errors", "service.refusal", "workers.worker"} <= set(known)
    assert len(known) > 50


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_only_the_app_and_the_cli_import_the_web_layer():
    assert offenders("service.web", MAY_IMPORT_WEB, within="service") == []


def test_http_handlers_live_in_the_web_layer():
    assert handlers_outside_web() == []


def test_service_imports_workers_only_in_the_cli():
    assert offenders("workers", MAY_IMPORT_WORKERS, within="service") == []


def test_nothing_imports_the_sandboxes():
    assert offenders("sandbox", set()) == []


def test_only_the_store_knows_redis_keys():
    assert redis_keys_outside_the_store() == []


# --- the checks themselves ------------------------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for package in PACKAGES:
        (root / package).mkdir(exist_ok=True)
    return root


def test_the_checks_see_what_they_look_for(tmp_path):
    root = _tree(tmp_path, {
        "service/__init__.py": "",
        "service/a.py": "from service import b\n",
        "service/b.py": "def late():\n    from .c import thing\n",  # a function-level, relative import
        "service/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import service.a\nthing = 1\n",
        "service/d.py": "import service.e\n",
        "service/e.py": "from service.d import *\n",
        "service/policy.py": "from service import web\nimport workers.jobs\n"
                             "from starlette.requests import Request\n"
                             "async def handler(request: Request) -> JSONResponse: ...\n",
        "service/cli.py": "from service.web import x\nfrom workers.worker import run\n",
        "service/web/__init__.py": "",
        "service/web/x.py": "import service.web.y\nfrom sandbox.pim import create_app\n",
        "service/web/y.py": "",
        "workers/__init__.py": "",
        "workers/worker.py": "from service import a\n",
        "workers/jobs.py": "KEY = 'rq:queue:x'\nprint(f'connector: {1}')\n",
        "workers/cache.py": "def key(t):\n    return f'connector:tenant:{t}:x'\n",
        "service/store/__init__.py": "KEY = 'connector:tenants'\n",
    })
    assert cycles(graph(root)) == [["service.a", "service.b", "service.c"], ["service.d", "service.e"]]
    assert offenders("service.web", MAY_IMPORT_WEB, root, within="service") == [
        "service.policy:1 service.web"]
    assert offenders("workers", MAY_IMPORT_WORKERS, root, within="service") == [
        "service.policy:2 workers.jobs"]
    assert offenders("sandbox", set(), root) == ["service.web.x:2 sandbox.pim"]
    assert handlers_outside_web(root) == ["service.policy:4 handler"]
    assert redis_keys_outside_the_store(root) == ["workers.cache:2 connector:tenant:", "workers.jobs:1 rq:queue:x"]
