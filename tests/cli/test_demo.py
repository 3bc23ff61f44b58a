"""`connector demo` on a fresh data directory: the whole job on sandboxes, as a merchant would see it."""

from __future__ import annotations

import csv
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
from rq import Queue

from service.demo import reason
from tests.faults_env import descendants, kill_parent_alone
from tests.import_env import wait_for
from tests.servers import free_port

ICECAT = Path(__file__).resolve().parents[2] / ".." / "shared" / "catalogs" / "icecat_demo_dev"


def small_catalog(target: Path, simple: int = 20, models: tuple[str, ...] = ("apollon", "brooksblue", "model-tshirt-divided")) -> dict:
    """A slice of icecat: `simple` simple products and the named root models with their sub-models and
    variants; every other fixture file as it is. Returns the expected counts."""
    target.mkdir()
    for item in ICECAT.iterdir():
        if item.name not in ("products.csv", "product_models.csv"):
            (target / item.name).symlink_to(item.resolve())

    def rows(name: str) -> tuple[list[str], list[dict]]:
        with (ICECAT / name).open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f, delimiter=";")
            return reader.fieldnames, list(reader)

    model_fields, model_rows = rows("product_models.csv")
    wanted = {m.lower() for m in models}
    kept_models = [r for r in model_rows if r["code"].lower() in wanted or r["parent"].lower() in wanted]
    model_codes = {r["code"].lower() for r in kept_models}
    product_fields, product_rows = rows("products.csv")
    # simple products with a picture first, so the storefront shows what the import can do (icecat's simple
    # products have no price but AKNSTK's: they are created hidden, with a warning); a few without one too
    simples = sorted((r for r in product_rows if not r["parent"]),
                     key=lambda r: (not r.get("price-EUR"), not r.get("picture")))[:simple - 4]
    simples += [r for r in product_rows if not r["parent"] and r not in simples][:4]
    variants = [r for r in product_rows if r["parent"].lower() in model_codes]
    for name, fields, kept in (("product_models.csv", model_fields, kept_models),
                               ("products.csv", product_fields, simples + variants)):
        with (target / name).open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=fields, delimiter=";")
            writer.writeheader()
            writer.writerows(kept)
    return {"products": len(simples) + len(wanted), "variants": len(variants)}


def test_reason_groups_messages_of_the_same_kind():
    assert reason("no price in EUR for 'price' of 1111111171") == reason("no price in EUR for 'price' of 99")
    assert reason("name cut to 250 characters") != reason("weight missing")


def test_demo_imports_the_catalog_and_prints_where_to_look(tmp_path):
    expected = small_catalog(tmp_path / "catalog")
    ports = [str(free_port()) for _ in range(3)]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SECRET_KEY", "APP_URL")}
    env["DATA_DIR"] = str(tmp_path / "var")
    argv = [sys.executable, "-m", "service.cli", "demo", "--exit-after-import", "--unlimited",
            "--catalog", str(tmp_path / "catalog"), "--port", ports[0], "--pim-port", ports[1],
            "--store-port", ports[2]]
    for attempt in ("first", "second"):  # a second run starts cleanly from what the first left
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240)
        out = done.stdout
        assert done.returncode == 0, f"{attempt} run: {done.stderr[-3000:]}\n{out[-3000:]}"
        assert re.search(r"Import (succeeded|partial) in \d+ s \(mapping version 1\)", out), out[-3000:]
        store_line = re.search(r"store: (\d+) products, (\d+) variants, (\d+) categories, (\d+) images", out)
        assert store_line, out[-3000:]
        products, variants, categories, images = map(int, store_line.groups())
        assert (products, variants) == (expected["products"], expected["variants"])
        assert categories > 0 and images > 0
        assert f"http://127.0.0.1:{ports[0]}/bc/load?signed_payload_jwt=" in out
        assert "/sandbox/stores/icecatdemo/storefront" in out
        assert "BigCommerce requests:" in out and "without a price" in out


CHROMIUM = "/usr/bin/chromium"
# the README's screenshots are refreshed only when asked (UPDATE_SCREENSHOTS=1); a plain run leaves the
# working tree alone and writes them to test-output/
_ROOT = Path(__file__).resolve().parents[2]
DOCS = _ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "test-output/screenshots")


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"), reason="Chromium is not installed")
def test_demo_keeps_running_shows_its_pages_and_stops_on_ctrl_c(tmp_path):
    """The demo as a visitor meets it: the storefront, the configuration page with its demo session and the
    import history, photographed for the README (docs/screenshots/); Ctrl-C then stops every process."""
    from playwright.sync_api import sync_playwright

    from tests.browser.support import ARGS

    small_catalog(tmp_path / "catalog")
    ports = [str(free_port()) for _ in range(3)]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SECRET_KEY", "APP_URL")}
    env["DATA_DIR"] = str(tmp_path / "var")
    demo = subprocess.Popen([sys.executable, "-m", "service.cli", "demo", "--unlimited", "--catalog",
                             str(tmp_path / "catalog"), "--port", ports[0], "--pim-port", ports[1],
                             "--store-port", ports[2]], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    out = []
    try:
        deadline = time.monotonic() + 240
        for line in demo.stdout:
            out.append(line)
            if "Ctrl-C stops everything" in line or time.monotonic() > deadline:
                break
        text = "".join(out)
        assert "Ctrl-C stops everything" in text, text[-3000:]
        load_url = re.search(r"(http://127\.0\.0\.1:\d+/bc/load\?signed_payload_jwt=\S+)", text).group(1)
        storefront = re.search(r"(http://\S+/storefront)", text).group(1)
        DOCS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(storefront)
            assert page.locator("article.product").count() > 0
            assert page.locator("article.product img").count() > 0
            page.screenshot(path=str(DOCS / "demo-storefront.png"))
            page.goto(load_url)
            page.wait_for_selector("text=Connected", timeout=15000)
            page.screenshot(path=str(DOCS / "demo-configuration.png"), full_page=True)
            history = page.locator("#imports-section")
            history.scroll_into_view_if_needed()
            page.wait_for_selector("#runs-body >> text=/Succeeded|Partial/", timeout=15000)
            history.screenshot(path=str(DOCS / "demo-import-history.png"))
            # inside the PIM: the demo added the connector's extensions; a product's BigCommerce tab
            pim_ui = re.search(r"BigCommerce tab (http://\S+)/sandbox/ui/products/AKNSTK", text).group(1)
            cookie = httpx.post(f"{pim_ui}/sandbox/sessions", json={"username": "admin"}).json()["cookie"]
            page.context.add_cookies([{"name": "BAPID", "value": cookie, "url": pim_ui}])
            page.goto(f"{pim_ui}/sandbox/ui/products/AKNSTK")
            page.locator("a.extension-tab").first.click()
            frame = page.frame_locator("iframe#extension-frame")
            frame.locator("#item-badge").filter(has_text="In the store").wait_for(timeout=15000)
            page.screenshot(path=str(DOCS / "demo-pim-product-tab.png"), full_page=True)
            browser.close()
        assert re.search(r"Real-time updates: active", text), text[-2000:]
        # the command the summary gives: a change in the PIM reaches the storefront within seconds
        command = re.search(r"curl -X PATCH (http://\S+)/<identifier>", text).group(1)
        changed = httpx.patch(f"{command}/AKNSTK", json={"values": {"name": [
            {"locale": None, "scope": None, "data": "Akeneo Sticker, renamed in the PIM"}]}})
        assert changed.status_code in (200, 204), changed.text
        deadline = time.monotonic() + 20
        while "renamed in the PIM" not in httpx.get(storefront).text:
            assert time.monotonic() < deadline, "the change did not reach the store within 20 s"
            time.sleep(0.2)
        # and through the PIM's edit form, as a person would: a price makes a hidden product visible
        form = re.search(r"edit form: (http://\S+)/AKNSTK/edit", text).group(1)
        assert httpx.get(f"{form}/AKNSTK/edit").status_code == 200
        saved = httpx.post(f"{form}/AKNSTK/edit", data={"name": "Akeneo Sticker (form)", "price": "3.50",
                                                        "enabled": "1"})
        assert saved.status_code == 200 and "Saved" in saved.text
        deadline = time.monotonic() + 20
        while "Akeneo Sticker (form)" not in (page := httpx.get(storefront).text) or "€3.50" not in page:
            assert time.monotonic() < deadline, "the form's change did not reach the store within 20 s"
            time.sleep(0.2)
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        try:
            rest, _ = demo.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # fail, but leave no demo behind (its children die with it)
            os.killpg(demo.pid, signal.SIGKILL)
            raise
    assert demo.returncode == 0, rest[-2000:]
    assert "demo stopped" in rest
    for port in ports:  # every process it started is gone
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", int(port))) != 0, f"port {port} still answers after Ctrl-C"


def test_a_killed_demo_leaves_no_process_behind_and_frees_its_ports(tmp_path):
    """Was (issue 18): the demo killed with SIGKILL (no handler runs) left Redis, both sandboxes, the web
    app and the worker running, holding the ports, and the next demo stopped on "port 8000 is in use".
    Every process it started, and the work horse of a job the worker is running, dies with it."""
    ports, demo = _small_demo(tmp_path, 5, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{ports[0]}/healthz"), timeout=60, every=0.1)
        # the worker starts last: once it is up, a job keeps a work horse of it busy
        conn = redis.Redis(unix_socket_path=str(tmp_path / "var" / "demo" / "redis" / "redis.sock"))
        job = Queue("imports", connection=conn).enqueue("time.sleep", 120, job_timeout=300)
        wait_for(lambda: job.get_status(refresh=True) == "started", timeout=30, every=0.1)
        tree = descendants(demo.pid)
        assert len(tree) >= 6 and max(tree.values()) >= 2, tree  # Redis, 2 sandboxes, web, worker; its horse
    finally:
        took, left, answering = kill_parent_alone(demo, f"DATA_DIR={tmp_path}", ports)
    assert not left and not answering, f"{took:.1f} s after the demo was killed: {left}, ports {answering}"
    print(f"{len(tree)} processes gone {took:.2f} s after the demo was killed")


def _small_demo(tmp_path: Path, simple: int, **popen) -> tuple[list[int], subprocess.Popen]:
    """`connector demo` on a catalog of `simple` products, in its own session, on free ports."""
    small_catalog(tmp_path / "catalog", simple=simple, models=())
    ports = [free_port() for _ in range(3)]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SECRET_KEY", "APP_URL")}
    env["DATA_DIR"] = str(tmp_path / "var")
    demo = subprocess.Popen([sys.executable, "-m", "service.cli", "demo", "--unlimited", "--catalog",
                             str(tmp_path / "catalog"), "--port", str(ports[0]), "--pim-port", str(ports[1]),
                             "--store-port", str(ports[2])], env=env, start_new_session=True, **popen)
    return ports, demo


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_ctrl_c_stops_a_demo_started_where_sigint_is_ignored(tmp_path):
    """A shell without job control starts background commands with SIGINT ignored, and Python then keeps it
    ignored: "Ctrl-C stops everything" stopped nothing (seen: a demo left running with its worker). The demo
    takes SIGINT itself, and stops every process it started."""
    ports, demo = _small_demo(tmp_path, 3, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 120
        for line in demo.stdout:
            if "Ctrl-C stops everything" in line or time.monotonic() > deadline:
                break
        os.killpg(demo.pid, signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
    assert demo.returncode == 0 and "demo stopped" in rest, rest[-2000:]
    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", int(port))) != 0, f"port {port} still answers after Ctrl-C"
