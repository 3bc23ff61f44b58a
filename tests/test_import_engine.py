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
