"""`python -m sandbox.pim`: serve the sandbox PIM with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from .app import create_app
from .catalog import DEFAULT_CATALOG

SAAS_RATE_LIMIT = 100.0  # requests per second
SAAS_CONNECTION_CONCURRENCY = 4
SAAS_INSTANCE_CONCURRENCY = 10


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.pim", description=__doc__)
    parser.add_argument("--catalog", default=str(DEFAULT_CATALOG), help="Akeneo fixture directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--secret", default="sandbox-secret")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime (seconds)")
    # Akeneo SaaS limits by default; --no-limits lifts them all, 0 lifts one
    parser.add_argument("--rate-limit", type=float, default=SAAS_RATE_LIMIT,
                        help=f"requests per second, instance (default {SAAS_RATE_LIMIT:g}; 0 = none)")
    parser.add_argument("--max-concurrency", type=int, default=SAAS_CONNECTION_CONCURRENCY,
                        help=f"requests in flight per connection (default {SAAS_CONNECTION_CONCURRENCY}; 0 = none)")
    parser.add_argument("--max-instance-concurrency", type=int, default=SAAS_INSTANCE_CONCURRENCY,
                        help=f"requests in flight on the instance (default {SAAS_INSTANCE_CONCURRENCY}; 0 = none)")
    parser.add_argument("--no-limits", action="store_true", help="no rate or concurrency limit at all")
    parser.add_argument("--log-level", default="info", help="uvicorn's (warning: no line per request)")
    args = parser.parse_args(argv)
    if args.no_limits:
        args.rate_limit = args.max_concurrency = args.max_instance_concurrency = None
    app = create_app(args.catalog, client_id=args.client_id, secret=args.secret, username=args.username,
                     password=args.password, token_ttl=args.token_ttl, rate_limit=args.rate_limit or None,
                     max_concurrency=args.max_concurrency or None,
                     max_instance_concurrency=args.max_instance_concurrency or None)
    # a sandbox: printing its own demo credentials is the point
    print(f"Sandbox Akeneo PIM at http://{args.host}:{args.port}")
    print(f"  catalog:   {args.catalog}")
    print(f"  client id: {args.client_id}   secret: {args.secret}")
    print(f"  user:      {args.username}   password: {args.password}")
    limits = [f"{args.rate_limit:g} requests/s" if args.rate_limit else "",
              f"{args.max_concurrency} in flight per connection" if args.max_concurrency else "",
              f"{args.max_instance_concurrency} in flight on the instance" if args.max_instance_concurrency else ""]
    print(f"  limits:    {', '.join(x for x in limits if x) or 'none (--no-limits)'}")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
