"""The login host's `POST /oauth2/token` (authorization-code exchange of a single-click app)."""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from .. import strictjson
from .state import AUTH_CODE_TTL, BigCommerceState

FIELDS = ("client_id", "client_secret", "code", "context", "scope", "grant_type", "redirect_uri")


def _error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def token(request: Request) -> JSONResponse:
    state: BigCommerceState = request.app.state.bc
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = strictjson.loads(raw)
        except ValueError:
            return _error("invalid_request", "The request body is not valid JSON")
        if not isinstance(data, dict):
            return _error("invalid_request", "The request body must be an object")
    else:
        data = dict(parse_qsl(raw.decode("utf-8", "replace")))
    missing = [f for f in FIELDS if not isinstance(data.get(f), str) or not data.get(f)]
    if missing:
        return _error("invalid_request", f"Missing or empty parameters: {', '.join(missing)}")
    if data["grant_type"] != "authorization_code":
        return _error("unsupported_grant_type", "grant_type must be authorization_code")
    secret = state.apps.get(data["client_id"])
    if secret is None or not secrets.compare_digest(secret.encode(), data["client_secret"].encode()):
        return _error("invalid_client", "Invalid client_id or client_secret")
    code = state.codes.get(data["code"])
    if code is None or code.client_id != data["client_id"]:
        return _error("invalid_grant", "The authorization code is invalid")
    if code.used:
        return _error("invalid_grant", "The authorization code has already been used")
    if time.time() - code.issued > AUTH_CODE_TTL:
        return _error("invalid_grant", "The authorization code has expired")
    if code.redirect_uri is not None and code.redirect_uri != data["redirect_uri"]:
        return _error("invalid_grant", "redirect_uri does not match the one the code was issued for")
    if data["context"] != f"stores/{code.store_hash}":
        return _error("invalid_grant", "context does not match the store the code was issued for")
    if set(data["scope"].split()) != set(code.scope.split()):
        return _error("invalid_scope", "scope does not match the granted scope")
    code.used = True
    store = state.stores.get(code.store_hash)
    if store is None:
        return _error("invalid_grant", "The store no longer exists")
    access_token = secrets.token_hex(16)
    state.add_token(code.store_hash, access_token, code.scope.split())
    user = {k: code.user.get(k) for k in ("id", "username", "email")}
    return JSONResponse({
        "access_token": access_token,
        "scope": code.scope,
        "user": user,
        "owner": user,
        "context": f"stores/{code.store_hash}",
        "account_uuid": store.account_uuid,
    })
