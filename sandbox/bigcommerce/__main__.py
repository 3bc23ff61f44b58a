"""`python -m sandbox.bigcommerce --port N [--plan standard|plus|pro|enterprise|unlimited] [--store HASH:TOKEN ...]
[--app ID:SECRET ...]`: the stores' API rate limit is a BigCommerce plan's (plans.py; Standard by default), or
`--rate-limit REQUESTS/MILLISECONDS`; `--unlimited` is `--plan unlimited`."""

from __future__ import annotations

import argparse

import uvicorn

from .app import create_app
from .plans import DEFAULT_PLAN, PLANS, Plan, plan


def _pair(text: str) -> tuple[str, str]:
    left, sep, right = text.partition(":")
    if not sep or not left or not right:
        raise argparse.ArgumentTypeError(f"expected A:B, got {text!r}")
    return left, right


def _rate(text: str) -> tuple[int, int]:
    quota, sep, window = text.partition("/")
    try:
        return int(quota), int(window)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected REQUESTS/MILLISECONDS, got {text!r}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.bigcommerce", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--store", type=_pair, action="append", default=[], metavar="HASH:TOKEN")
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--plan", choices=list(PLANS), help=f"a BigCommerce plan's rate limit (default {DEFAULT_PLAN})")
    limit.add_argument("--rate-limit", type=_rate, metavar="REQUESTS/MILLISECONDS", help="a quota of your own")
    limit.add_argument("--unlimited", action="store_true", help="the same as --plan unlimited")
    parser.add_argument("--app", type=_pair, action="append", default=[], metavar="CLIENT_ID:CLIENT_SECRET")
    args = parser.parse_args(argv)
    if args.rate_limit:
        chosen = Plan("custom", *args.rate_limit)
    else:
        chosen = plan("unlimited" if args.unlimited else args.plan or DEFAULT_PLAN)
    app = create_app(stores=args.store, rate_limit=(chosen.quota, chosen.window_ms), unlimited=not chosen.enforced,
                     apps=args.app)
    base = f"http://{args.host}:{args.port}"
    print(f"BigCommerce sandbox at {base} (BC_API_URL and BC_LOGIN_URL)", flush=True)
    for hash_, token in args.store:
        print(f"  store {hash_}: {base}/stores/{hash_}/v3  token {token}  storefront "
              f"{base}/sandbox/stores/{hash_}/storefront", flush=True)
    for client_id, _ in args.app:
        print(f"  app client_id {client_id}", flush=True)
    print(f"  rate limit: {chosen.name} plan, {chosen.describe()}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
