"""Read throughput of the Akeneo client against the sandbox PIM on loopback.

Streams every product (products-uuid, search_after) and every product model through
`AkeneoClient`, for page sizes 100 and 50, with and without payload reduction
(`scope`/`locales`/`attributes`), with no added latency and with 50 ms per request (closer to a
hosted PIM). Prints items (products + models) per second, and for products the requests and kilobytes per
100 products.

    .venv/bin/python bench/bench_akeneo_read.py
"""

from __future__ import annotations

import asyncio
import time

from sandbox.pim import create_app
from sandbox.serving import serve
from service.clients.akeneo import AkeneoClient

REDUCED = {"scope": "ecommerce", "locales": ["en_US"], "attributes": ["sku", "name", "price", "image"]}


async def read_all(base_url: str, page_size: int, reduction: dict) -> dict[str, float]:
    async with AkeneoClient(base_url, "sandbox-client", "sandbox-secret", "admin", "admin",
                            allow_private_addresses=True) as pim:  # the sandbox is on loopback
        await pim.check_connection()  # the token is not part of the read
        result: dict[str, float] = {}
        started = time.perf_counter()
        for kind, items in (("products", pim.iter_products), ("models", pim.iter_product_models)):
            requests, received = pim.requests_made, pim.bytes_received
            count = 0
            async for _ in items(page_size=page_size, **reduction):
                count += 1
            result[kind] = count
            result[f"{kind}_requests"] = pim.requests_made - requests
            result[f"{kind}_bytes"] = pim.bytes_received - received
        result["seconds"] = time.perf_counter() - started
        return result


def main() -> None:
    app = create_app()
    state = app.state.pim
    with serve(app) as base_url:
        report(base_url, state)


def report(base_url: str, state) -> None:
    print(f"sandbox PIM at {base_url}; products then models, one client, pages read in sequence")
    print(
        f"{'latency':>8} {'page':>5} {'reduction':>10} {'products':>9} {'models':>7} {'requests':>9} "
        f"{'req/100p':>9} {'KB/100p':>8} {'items/s':>8} {'seconds':>8}"
    )
    for latency in (0.0, 0.05):
        state.set_faults(latency=latency)
        for page_size in (100, 50):
            for name, reduction in (("none", {}), ("reduced", REDUCED)):
                r = asyncio.run(read_all(base_url, page_size, reduction))
                items = r["products"] + r["models"]
                print(
                    f"{latency * 1000:>6.0f}ms {page_size:>5} {name:>10} {r['products']:>9.0f} {r['models']:>7.0f} "
                    f"{r['products_requests'] + r['models_requests']:>9.0f} "
                    f"{100 * r['products_requests'] / r['products']:>9.2f} "
                    f"{r['products_bytes'] / r['products'] / 10.24:>8.1f} "
                    f"{items / r['seconds']:>8.0f} {r['seconds']:>8.2f}"
                )


if __name__ == "__main__":
    main()
