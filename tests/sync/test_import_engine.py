"""The import engine end to end on a small icecat subtree: sandboxes over HTTP, a real RQ worker."""

from __future__ import annotations

from tests.import_env import expected_catalog, import_env


def test_small_subtree_imports(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print", options={"image_mode": "upload"}) as env:
        run_id = env.start("full")
        env.work()
        run = env.run(run_id)
        assert run["status"] in ("succeeded", "partial"), run
        state = env.state()
        expected = expected_catalog("print")
        skus = {p["sku"].lower(): p for p in state["products"]}
        assert set(expected.simple) <= set(skus)
        print(run["counts"], len(state["products"]))


def test_sync_products_serves_change_events(redis_url, tmp_path):
    """The engine's entry for events: a few products and models loaded now, same build and load."""
    import asyncio

    import httpx

    from service.settings import load_settings
    from service.store.imports import PageCommit
    from workers.sync.context import open_sync_context
    from workers.sync.dirty import sync_dirty

    with import_env(redis_url, tmp_path, category="print") as env:
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] == "succeeded"
        assert httpx.patch(f"{env.pim_url}/sandbox/products/1111111240", timeout=30, json={
            "values": {"name": [{"locale": None, "scope": None, "data": "Straw hat"}]}}).status_code == 200
        assert httpx.patch(f"{env.pim_url}/sandbox/product-models/aphrodite", timeout=30, json={
            "values": {"description": [{"locale": "en_US", "scope": "ecommerce", "data": "<p>Gauze</p>"}]}}
        ).status_code == 200
        settings = load_settings({k: env.env[k] for k in ("REDIS_URL", "SECRET_KEY", "BC_API_URL", "APP_URL",
                                                         "DATA_DIR", "ALLOW_PRIVATE_URLS")})
        products = {p["sku"]: p for p in env.state()["products"]}
        uuid = next(k.split(":", 1)[1] for k, v in env.store.ledger(env.tenant).all_product_ids().items()
                    if int(v) == products["1111111240"]["id"])

        async def event() -> PageCommit:
            async with open_sync_context(settings, env.conn, env.store, env.tenant, None) as ctx:
                return (await sync_dirty(ctx, uuids=[uuid], model_codes=["aphrodite"])).commit

        commit = asyncio.run(event())
        assert commit.counts == {"products.updated": 2}, commit.counts
        products = {p["sku"]: p for p in env.state()["products"]}
        assert products["1111111240"]["name"] == "Straw hat" and "Gauze" in products["aphrodite"]["description"]
