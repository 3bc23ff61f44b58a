"""`python -m sandbox.pim`: serve the sandbox PIM with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from .app import create_app
from .catalog import DEFAULT_CATALOG


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
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second (instance)")
    parser.add_argument("--max-concurrency", type=int, default=None, help="requests in flight per connection")
    args = parser.parse_args(argv)
    app = create_app(args.catalog, client_id=args.client_id, secret=args.secret, username=args.username,
                     password=args.password, token_ttl=args.token_ttl, rate_limit=args.rate_limit,
                     max_concurrency=args.max_concurrency)
    # a sandbox: printing its own demo credentials is the point
    print(f"Sandbox Akeneo PIM at http://{args.host}:{args.port}")
    print(f"  catalog:   {args.catalog}")
    print(f"  client id: {args.client_id}   secret: {args.secret}")
    print(f"  user:      {args.username}   password: {args.password}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
