"""Categories against both sandboxes over real HTTP, with the icecat tree.

The expected BigCommerce tree is computed here from categories.csv (and the edits the tests make),
independently of workers/sync/categories.py, and compared with the sandbox store's state."""

from __future__ import annotations

import asyncio
import csv
import logging
from dataclasses import dataclass

import httpx
import pytest
import redis

from sandbox.bigcommerce import create_app as create_bc
from sandbox.pim import DEFAULT_CATALOG
from sandbox.pim import create_app as create_pim
from service.clients.akeneo import AkeneoClient
from service.clients.bigcommerce import BigCommerceClient
from service.store.ledger import StoreLedger
from tests.servers import serve
from workers.sync.categories import sync_categories

STORE, TOKEN = "cats01", "cat-token"
TENANT = "tcategories"


@dataclass(frozen=True)
class Main:
    locale: str
    channel: str
    category: str


@dataclass
class Job:
    """The fields of the engine's SyncContext that sync_categories reads."""

    tenant: str
    pim: AkeneoClient
    bc: BigCommerceClient
    main: Main
    redis: redis.Redis
    channel_id: int = 1
    store_hash: str = STORE

    @property
    def ledger(self) -> StoreLedger:
        return StoreLedger(self.redis, self.tenant, self.store_hash)


@pytest.fixture
def sandboxes():
    pim_app = create_pim()
    bc_app = create_bc(stores=[(STORE, TOKEN)], unlimited=True)
    with serve(pim_app) as pim_url, serve(bc_app) as bc_url, \
            httpx.Client(base_url=pim_url, timeout=30) as pim_http, httpx.Client(base_url=bc_url, timeout=30) as bc_http:
        yield pim_url, bc_url, pim_http, bc_http


def run_sync(sandboxes, redis_conn, category="master", locale="en_US"):
    pim_url, bc_url, _, _ = sandboxes

    async def go():
        async with AkeneoClient(pim_url, "sandbox-client", "sandbox-secret", "admin", "admin",
                                allow_private_addresses=True) as pim, \
                BigCommerceClient(STORE, TOKEN, api_url=bc_url, retry_base=0.01) as bc:
            return await sync_categories(Job(TENANT, pim, bc, Main(locale, "ecommerce", category), redis_conn))

    return asyncio.run(go())


# --- the expected tree, from the CSV --------------------------------------------------------------


def csv_tree() -> list[dict]:
    with open(DEFAULT_CATALOG / "categories.csv", newline="", encoding="utf-8") as f:
        return [{"code": r["code"], "parent": r["parent"] or None, "label": r["label-en_US"]}
                for r in csv.DictReader(f, delimiter=";")]


def expected_tree(rows: list[dict], main: str = "master") -> dict[str, dict]:
    """code -> {path (tuple of names from the top), sort_order}; rows in sibling order."""
    kids: dict[str, list[dict]] = {}
    for row in rows:
        kids.setdefault((row["parent"] or "").lower(), []).append(row)
    out: dict[str, dict] = {}

    def walk(parent: str, path: tuple[str, ...]) -> None:
        used: set[str] = set()
        for position, row in enumerate(kids.get(parent, []), start=1):
            name = (row["label"] or row["code"])[:50].rstrip()
            if name.lower() in used:
                suffix = f" ({row['code']})"
                name = name[: 50 - len(suffix)].rstrip() + suffix
            used.add(name.lower())
            out[row["code"]] = {"path": (*path, name), "sort_order": position}
            walk(row["code"].lower(), (*path, name))

    walk(main.lower(), ())
    return out


def store_tree(bc_http: httpx.Client) -> tuple[dict[tuple[str, ...], dict], list[dict]]:
    """The sandbox store's tree 1: path of names -> category, and every category."""
    cats = [c for c in bc_http.get(f"/sandbox/stores/{STORE}/state").json()["categories"] if c["tree_id"] == 1]
    by_id = {c["category_id"]: c for c in cats}

    def path(c: dict) -> tuple[str, ...]:
        return (*path(by_id[c["parent_id"]]), c["name"]) if c["parent_id"] else (c["name"],)

    return {path(c): c for c in cats}, cats


def writes(bc_http: httpx.Client) -> int:
    counts = bc_http.get(f"/sandbox/stores/{STORE}/requests").json()["counts"]
    return sum(n for route, n in counts.items() if not route.startswith("GET"))


def assert_store_matches(bc_http, expected: dict[str, dict], ids: dict[str, int]):
    paths, cats = store_tree(bc_http)
    visible = {p: c for p, c in paths.items() if c["is_visible"]}
    assert set(visible) == {e["path"] for e in expected.values()}
    for code, e in expected.items():
        category = visible[e["path"]]
        assert category["sort_order"] == e["sort_order"], code
        assert ids[code.lower()] == category["category_id"], code
    assert len({c["category_id"] for c in cats}) == len(cats)
    for path, c in paths.items():
        if not c["is_visible"]:
            assert path not in {e["path"] for e in expected.values()}
    return paths


# --- tests ---------------------------------------------------------------------------------------


def test_icecat_tree_is_built_then_costs_nothing(sandboxes, redis_conn, caplog):
    caplog.set_level(logging.INFO)  # the sync's log record must be valid when INFO is on
    _, _, _, bc_http = sandboxes
    rows = csv_tree()
    expected = expected_tree(rows)
    assert len(expected) == 66 and ("Office", "Desk supplies", "postit_notes") in {e["path"] for e in expected.values()}

    first = run_sync(sandboxes, redis_conn)
    assert first.errors == [] and first.warnings == []
    assert first.counts["created"] == len(expected) and first.counts["failed"] == 0
    assert_store_matches(bc_http, expected, first.ids)
    # creates level by level, each level one request (no level has more than 50 categories)
    assert writes(bc_http) == first.writes == 3
    assert set(first.ids) == {c.lower() for c in expected}

    bc_http.delete(f"/sandbox/stores/{STORE}/requests")
    second = run_sync(sandboxes, redis_conn)
    assert second.counts == {"created": 0, "updated": 0, "unchanged": len(expected), "hidden": 0, "deleted": 0,
                             "failed": 0}
    assert writes(bc_http) == 0 and second.writes == 0
    assert second.ids == first.ids


def test_rename_move_remove_and_add_in_the_pim_reach_the_store(sandboxes, redis_conn):
    _, _, pim_http, bc_http = sandboxes
    first = run_sync(sandboxes, redis_conn)
    long_label = "Professional digital single-lens reflex cameras and mirrorless systems"
    edits = [
        ("PATCH", "/sandbox/categories/cameras", {"labels": {"en_US": "Photo and video"}}),
        ("PATCH", "/sandbox/categories/webcams", {"parent": "audio_video", "position": 1}),
        ("DELETE", "/sandbox/categories/print_scan", None),
        ("POST", "/sandbox/categories", {"code": "dslr", "parent": "cameras", "labels": {"en_US": long_label}}),
        ("POST", "/sandbox/categories", {"code": "more_headphones", "parent": "audio_video",
                                         "labels": {"en_US": "HEADPHONES"}}),
    ]
    for method, path, body in edits:
        response = pim_http.request(method, path, json=body)
        assert response.status_code in (200, 201), response.text

    # the same edits on the CSV rows
    rows = [r for r in csv_tree() if r["code"] not in {"print_scan", "multifunctionals", "laser_led_printers",
                                                          "scanners"}]
    for r in rows:
        if r["code"] == "cameras":
            r["label"] = "Photo and video"
    webcams = next(r for r in rows if r["code"] == "webcams")
    rows.remove(webcams)
    rows.insert(next(i for i, r in enumerate(rows) if r["parent"] == "audio_video"), {**webcams, "parent": "audio_video"})
    last_camera = max(i for i, r in enumerate(rows) if r["parent"] == "cameras")
    rows.insert(last_camera + 1, {"code": "dslr", "parent": "cameras", "label": long_label})
    last_av = max(i for i, r in enumerate(rows) if r["parent"] == "audio_video")
    rows.insert(last_av + 1, {"code": "more_headphones", "parent": "audio_video", "label": "HEADPHONES"})
    expected = expected_tree(rows)

    bc_http.delete(f"/sandbox/stores/{STORE}/requests")
    second = run_sync(sandboxes, redis_conn)
    assert second.errors == []
    paths = assert_store_matches(bc_http, expected, second.ids)
    assert expected["dslr"]["path"][-1] == long_label[:50].rstrip()
    assert expected["more_headphones"]["path"][-1] == "HEADPHONES (more_headphones)"
    warned = {w.item: w.message for w in second.warnings}
    assert "50 characters" in warned["category dslr"] and "HEADPHONES (more_headphones)" in warned[
        "category more_headphones"]
    # the renamed and moved ones kept their BigCommerce ids
    for code in ("cameras", "webcams"):
        assert second.ids[code] == first.ids[code]
    # the removed subtree is hidden, not deleted, and no longer offered to products
    hidden = [c for c in paths.values() if not c["is_visible"]]
    assert {c["category_id"] for c in hidden} == {first.ids[c] for c in
                                                  ("print_scan", "multifunctionals", "laser_led_printers", "scanners")}
    assert "print_scan" not in second.ids
    # renamed: cameras; moved (parent and positions): webcams, headphones, mp3_players, loudspeakers;
    # print_scan's five later siblings move up one position; digital_cameras and camcorders keep theirs
    assert second.counts == {"created": 2, "updated": 10, "unchanged": len(expected) - 12, "hidden": 4,
                             "deleted": 0, "failed": 0}
    # one PUT for the updates and hides, one POST for the two new ones
    assert writes(bc_http) == second.writes == 2

    bc_http.delete(f"/sandbox/stores/{STORE}/requests")
    assert run_sync(sandboxes, redis_conn).counts["unchanged"] == len(expected) and writes(bc_http) == 0

    # a removed category that comes back is shown again, not duplicated
    back = pim_http.post("/sandbox/categories", json={"code": "print_scan", "parent": "master",
                                                      "labels": {"en_US": "Print and scan"}})
    assert back.status_code == 201
    again = run_sync(sandboxes, redis_conn)
    assert again.ids["print_scan"] == first.ids["print_scan"] and again.counts["created"] == 0
    paths, _ = store_tree(bc_http)
    assert paths[("Print and scan",)]["is_visible"] is True
    assert not paths[("Print and scan", "Scanners")]["is_visible"]


def test_lost_id_map_adopts_instead_of_duplicating(sandboxes, redis_conn):
    _, _, _, bc_http = sandboxes
    first = run_sync(sandboxes, redis_conn)
    StoreLedger(redis_conn, TENANT, STORE).clear_categories()  # as if a crash came between the creates and the id-map writes
    bc_http.delete(f"/sandbox/stores/{STORE}/requests")
    again = run_sync(sandboxes, redis_conn)
    assert again.ids == first.ids and again.counts["created"] == 0 and again.counts["unchanged"] == 66
    assert writes(bc_http) == 0
    _, cats = store_tree(bc_http)
    assert len(cats) == 66


def test_category_deleted_in_the_store_is_created_again(sandboxes, redis_conn):
    _, _, _, bc_http = sandboxes
    first = run_sync(sandboxes, redis_conn)
    async def delete():
        async with BigCommerceClient(STORE, TOKEN, api_url=str(bc_http.base_url)) as bc:
            await bc.delete_categories([first.ids["cameras"]])  # and its three children
    asyncio.run(delete())
    again = run_sync(sandboxes, redis_conn)
    assert again.counts["created"] == 4 and again.errors == []
    assert_store_matches(bc_http, expected_tree(csv_tree()), again.ids)


def test_main_category_below_the_root_and_another_locale(sandboxes, redis_conn):
    _, _, _, bc_http = sandboxes
    result = run_sync(sandboxes, redis_conn, category="office", locale="de_DE")
    assert result.errors == []
    paths, cats = store_tree(bc_http)
    assert len(cats) == len(result.ids) == 18
    with open(DEFAULT_CATALOG / "categories.csv", newline="", encoding="utf-8") as f:
        german = {r["code"]: r["label-de_DE"] or r["code"] for r in csv.DictReader(f, delimiter=";")}
    top = {c["name"] for c in cats if c["parent_id"] == 0}
    assert top == {german[c] for c in ("office_furnitures", "paper", "desk_supplies", "goodies")}


def test_unknown_main_category_is_an_error_and_writes_nothing(sandboxes, redis_conn):
    _, _, _, bc_http = sandboxes
    result = run_sync(sandboxes, redis_conn, category="no_such_category")
    assert result.ids == {} and result.errors and "no_such_category" in result.errors[0].message
    assert writes(bc_http) == 0
