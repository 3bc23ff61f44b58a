"""OAuth token route and bearer checks, with Akeneo's exact error bodies."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse

from .. import strictjson
from .state import PimState, Token

MSG_CREDENTIALS = "No user found for the given username and password"
MSG_CLIENT = 'Parameter "client_id" is missing or does not match any client, or secret is invalid'
MSG_MISSING = 'Parameter "grant_type", "username" or "password" is missing, empty or invalid'
MSG_NO_AUTH = "Authentication is required"
MSG_INVALID = "The access token provided is invalid."
MSG_EXPIRED = "The access token provided has expired."
MSG_FORBIDDEN = "You are not allowed to access the web API."


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status, headers=headers)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


async def _body(request: Request) -> dict | None:
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    try:
        body = strictjson.loads(raw or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def token(request: Request) -> JSONResponse:
    state: PimState = request.app.state.pim
    body = await _body(request)
    if body is None:
        return error(400, "Invalid json message received")
    creds = _basic_credentials(request)
    if creds is None and body.get("client_id"):  # the OAuth2 server also reads client credentials from the body
        creds = (str(body.get("client_id")), str(body.get("client_secret") or ""))
    if creds is None or state.connections.get(creds[0]) != creds[1] or not creds[1]:
        return error(422, MSG_CLIENT)
    client_id = creds[0]
    grant = body.get("grant_type")
    if grant == "password":
        username, password = body.get("username"), body.get("password")
        if not username or not password or not isinstance(username, str) or not isinstance(password, str):
            return error(422, MSG_MISSING)
        user = state.user(username)
        if user is None or user.password != password:
            return error(422, MSG_CREDENTIALS)
        return JSONResponse(state.issue_tokens(client_id, user.username))
    if grant == "refresh_token":
        refresh = body.get("refresh_token")
        if not refresh or not isinstance(refresh, str):
            return error(422, 'Parameter "refresh_token" is missing, empty or invalid')
        entry = state.refresh_tokens.get(refresh)
        if entry is None or entry.client_id != client_id:
            return error(422, "Invalid refresh token")
        del state.refresh_tokens[refresh]  # single use
        if entry.expires_at < state.now():
            return error(422, "Refresh token has expired")
        return JSONResponse(state.issue_tokens(client_id, entry.username))
    return error(422, MSG_MISSING)


def bearer(request: Request) -> tuple[Token | None, JSONResponse | None]:
    """The token of a data request, or the 401/403 answer Akeneo gives instead."""
    state: PimState = request.app.state.pim
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None, error(401, MSG_NO_AUTH)
    entry = state.access_tokens.get(value.strip())
    if entry is None:
        return None, error(401, MSG_INVALID)
    if entry.expires_at <= state.now():
        return None, error(401, MSG_EXPIRED)
    user = state.user(entry.username)
    if user is None or user.permissions != "all":
        return None, error(403, MSG_FORBIDDEN)
    return entry, None
