"""UI extensions as Akeneo serves them: the REST API (`/api/rest/v1/ui-extensions`), the JWT an iframe
asks for, the query parameters an iframe is opened with, and the signed POST an action sends.

Sources (see docs/akeneo-ui-extensions.md): api.akeneo.com/extensions/ (api, positions, iframe, action
pages), the pim-api-docs swagger for ui-extensions, and pim-api-docs PR #1224 for the action signature
header (`signature: sha512=<hex HMAC-SHA512 of the raw body>`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import time
import uuid as uuidlib
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import strictjson
from . import auth
from .state import PimState, UiExtension, User

TYPES = ("link", "iframe", "action")
# Akeneo's "Available positions for Extensions" table (api.akeneo.com/extensions/positions.html)
POSITIONS: dict[str, tuple[str, ...]] = {
    "pim.product.header": ("action", "link"),
    "pim.product-model.header": ("action", "link"),
    "pim.sub-product-model.header": ("action", "link"),
    "pim.product.tab": ("iframe",),
    "pim.product-model.tab": ("iframe",),
    "pim.sub-product-model.tab": ("iframe",),
    "pim.category.tab": ("iframe",),
    "pim.product-grid.action-bar": ("action", "iframe"),
    "pim.product.index": ("action",),
    "pim.activity.navigation.tab": ("iframe",),
    "pim.product.panel": ("iframe",),
    "pim.product-model.panel": ("iframe",),
    "pim.sub-product-model.panel": ("iframe",),
    "pim.performance.analytics.tab": ("iframe",),
    "pim.reference-entity-record.tab": ("iframe",),
}
CREDENTIAL_TYPES = ("Basic Authentication", "Bearer Token", "Custom Credentials")
FIELDS = ("name", "description", "version", "position", "type", "configuration", "status", "credentials")
CONFIG_FIELDS = ("url", "default_label", "labels", "secret")
SECRET_MIN = 32  # "Minimum 32 characters for secrets" (security overview; the API example says so too)
JWT_TTL = 3600.0  # the documented token: exp - iat = 3600 s
ACTION_TIMEOUT = 5.0  # "The PIM HTTP client ... is configured with a timeout of 5 seconds"
GRID_LIMIT = 500  # "Grid actions limited to 500 products/models"
# http is refused, as on the PIM ("All extensions must use HTTPS URLs"), except on these hosts: the
# connector under test serves plain http on loopback
HTTP_ALLOWED_HOSTS = {"localhost"}

MSG_NOT_FOUND = "This UI Extension does not exist or you don't have access."
MSG_FORBIDDEN = "Access forbidden. You are not allowed to manage UI extensions."
MSG_VALIDATION = "Validation failed."


class Invalid(Exception):
    def __init__(self, errors: list[dict]) -> None:
        super().__init__(MSG_VALIDATION)
        self.errors = errors


def _err(errors: list[dict], prop: str, message: str) -> None:
    errors.append({"property": prop, "message": message})


def _blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


def _url_error(url: object, type_: str) -> str | None:
    if _blank(url):
        return "This value should not be blank."
    assert isinstance(url, str)
    if type_ == "link" and url.startswith("%"):
        return None  # "If the URL begins with a placeholder, we won't verify its validity."
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        return "This value is not a valid URL."
    if parts.scheme == "http" and not _http_allowed(parts.hostname):
        return "The URL must use https."
    return None


def _http_allowed(host: str) -> bool:
    if host.lower() in HTTP_ALLOWED_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(ext: dict) -> None:
    """Akeneo's constraints on a whole extension (after a PATCH is merged); raises Invalid."""
    errors: list[dict] = []
    unknown = [k for k in ext if k not in FIELDS and k != "uuid"]
    for key in unknown:
        _err(errors, key, f'Property "{key}" does not exist.')
    if _blank(ext.get("name")):
        _err(errors, "name", "This value should not be blank.")
    elif len(ext["name"]) > 255:
        _err(errors, "name", "This value is too long. It should have 255 characters or less.")
    for key in ("description", "version"):
        if ext.get(key) is not None and not isinstance(ext[key], str):
            _err(errors, key, "This value should be of type string.")
    type_, position = ext.get("type"), ext.get("position")
    if _blank(type_):
        _err(errors, "type", "This value should not be blank.")
    elif type_ not in TYPES:
        _err(errors, "type", "The value you selected is not a valid choice.")
    if _blank(position):
        _err(errors, "position", "This value should not be blank.")
    elif position not in POSITIONS:
        _err(errors, "position", "The value you selected is not a valid choice.")
    elif type_ in TYPES and type_ not in POSITIONS[position]:
        _err(errors, "position", f'The position "{position}" is not available for the type "{type_}".')
    if ext.get("status", "active") not in ("active", "inactive"):
        _err(errors, "status", "The value you selected is not a valid choice.")
    _check_configuration(ext.get("configuration"), str(type_ or ""), errors)
    _check_credentials(ext.get("credentials", []), errors)
    if errors:
        raise Invalid(errors)


def _check_configuration(config: object, type_: str, errors: list[dict]) -> None:
    if not isinstance(config, dict):
        _err(errors, "configuration", "This value should not be blank." if config is None
             else "This value should be of type array.")
        return
    for key in config:
        if key not in CONFIG_FIELDS:
            _err(errors, f"configuration.{key}", f'Property "{key}" does not exist.')
    problem = _url_error(config.get("url"), type_)
    if problem:
        _err(errors, "configuration.url", problem)
    if _blank(config.get("default_label")):
        _err(errors, "configuration.default_label", "This value should not be blank.")
    labels = config.get("labels", {})
    if labels is not None and (not isinstance(labels, dict) or
                               not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())):
        _err(errors, "configuration.labels", "Labels must be an object of locale code to string.")
    secret = config.get("secret")
    if type_ == "iframe" and _blank(secret):
        _err(errors, "configuration.secret", "This value should not be blank.")
    elif secret is not None and (not isinstance(secret, str) or len(secret) < SECRET_MIN):
        _err(errors, "configuration.secret",
             f"This value is too short. It should have {SECRET_MIN} characters or more.")


def _check_credentials(credentials: object, errors: list[dict]) -> None:
    if not isinstance(credentials, list):
        _err(errors, "credentials", "This value should be of type array.")
        return
    for i, item in enumerate(credentials):
        if not isinstance(item, dict) or item.get("type") not in CREDENTIAL_TYPES:
            _err(errors, f"credentials[{i}].type", "The value you selected is not a valid choice.")
        elif item["type"] == "Custom Credentials" and (_blank(item.get("code")) or _blank(item.get("value"))):
            _err(errors, f"credentials[{i}]", "A custom credential needs a code (the header) and a value.")
        elif item["type"] == "Basic Authentication" and not (
                isinstance(item.get("value"), dict) and not _blank(item["value"].get("username"))
                and isinstance(item["value"].get("password"), str)):
            _err(errors, f"credentials[{i}].value", "Basic Authentication needs a username and a password.")
        elif item["type"] == "Bearer Token" and _blank(item.get("value")):
            _err(errors, f"credentials[{i}].value", "This value should not be blank.")


def normalize(ext: UiExtension) -> dict:
    """The API's view of an extension: the secret and credentials never go back out."""
    config = {"url": ext.configuration.get("url"), "default_label": ext.configuration.get("default_label"),
              "labels": dict(ext.configuration.get("labels") or {})}
    body: dict = {"uuid": ext.uuid, "name": ext.name, "type": ext.type, "position": ext.position,
                  "configuration": config, "status": ext.status}
    if ext.version is not None:
        body["version"] = ext.version
    if ext.description is not None:
        body["description"] = ext.description
    return body


def label(ext: UiExtension, locale: str) -> str:
    return (ext.configuration.get("labels") or {}).get(locale) or ext.configuration.get("default_label") or ext.name


# ---------------------------------------------------------------- the REST API

async def _body(request: Request) -> dict | JSONResponse:
    try:
        body = strictjson.loads(await request.body() or b"")
    except ValueError:
        return auth.error(400, "Invalid json message received")
    if not isinstance(body, dict):
        return auth.error(400, "Invalid json message received")
    return body


def _manager(request: Request) -> tuple[User | None, JSONResponse | None]:
    """The token's user, when its role may manage extensions (the guard has checked the token)."""
    state: PimState = request.app.state.pim
    if not state.ui_extensions_enabled:  # a self-hosted or older PIM: no such route
        return None, auth.error(404, f'No route found for "{request.method} {request.url}"')
    token = state.access_tokens.get(request.headers.get("authorization", "").partition(" ")[2].strip())
    user = state.user(token.username) if token else None
    if user is None or not user.manage_extensions:
        return None, auth.error(403, MSG_FORBIDDEN)
    return user, None


def _invalid(exc: Invalid) -> JSONResponse:
    return JSONResponse({"code": 422, "message": MSG_VALIDATION, "errors": exc.errors}, status_code=422)


def _owned(state: PimState, user: User, ext_uuid: str) -> UiExtension | None:
    ext = state.ui_extensions.get(ext_uuid.lower())
    return ext if ext is not None and ext.owner == user.username.lower() else None


async def list_extensions(request: Request) -> Response:
    user, refused = _manager(request)
    if refused:
        return refused
    state: PimState = request.app.state.pim
    mine = sorted((e for e in state.ui_extensions.values() if e.owner == user.username.lower()),
                  key=lambda e: e.created_at)
    return JSONResponse([normalize(e) for e in mine])


async def create_extension(request: Request) -> Response:
    user, refused = _manager(request)
    if refused:
        return refused
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    try:
        check(body)
    except Invalid as exc:
        return _invalid(exc)
    state: PimState = request.app.state.pim
    ext = UiExtension(uuid=str(uuidlib.uuid4()), owner=user.username.lower(), name=body["name"],
                      type=body["type"], position=body["position"], configuration=dict(body["configuration"]),
                      version=body.get("version"), description=body.get("description"),
                      status=body.get("status", "active"), credentials=list(body.get("credentials", [])),
                      created_at=state.now())
    state.ui_extensions[ext.uuid] = ext
    location = f"{str(request.base_url).rstrip('/')}/api/rest/v1/ui-extensions/{ext.uuid}"  # Akeneo's 201
    return JSONResponse(normalize(ext), status_code=201, headers={"Location": location})


def _managed(request: Request) -> UiExtension | Response:
    """The extension the path names, if this user may manage it and owns it; else Akeneo's 401/403/404."""
    user, refused = _manager(request)
    if refused:
        return refused
    ext = _owned(request.app.state.pim, user, request.path_params["uuid"])
    return auth.error(404, MSG_NOT_FOUND) if ext is None else ext


async def patch_extension(request: Request) -> Response:
    ext = _managed(request)
    if isinstance(ext, Response):
        return ext
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    merged = {"name": ext.name, "type": ext.type, "position": ext.position, "status": ext.status,
              "configuration": dict(ext.configuration), "credentials": list(ext.credentials)}
    if ext.version is not None:
        merged["version"] = ext.version
    if ext.description is not None:
        merged["description"] = ext.description
    for key, value in body.items():
        if key == "configuration" and isinstance(value, dict):
            merged["configuration"] = {**merged["configuration"], **value}  # a merge, as Akeneo's PATCH
        else:
            merged[key] = value
    merged.pop("uuid", None)
    try:
        check(merged)
    except Invalid as exc:
        return _invalid(exc)
    ext.name, ext.type, ext.position = merged["name"], merged["type"], merged["position"]
    ext.configuration, ext.status = merged["configuration"], merged.get("status", "active")
    ext.version, ext.description = merged.get("version"), merged.get("description")
    ext.credentials = list(merged.get("credentials", []))
    return JSONResponse(normalize(ext))


async def delete_extension(request: Request) -> Response:
    ext = _managed(request)
    if isinstance(ext, Response):
        return ext
    del request.app.state.pim.ui_extensions[ext.uuid]
    return Response(status_code=204)


# ---------------------------------------------------------------- iframes: query parameters and JWT

def iframe_url(ext: UiExtension, state: PimState, user: User, extra: dict[str, str] | None = None) -> str:
    """The configured URL with the PIM's default query parameters appended (api.akeneo.com/extensions/
    iframe.html "Default query parameters"), encoded as URLSearchParams does."""
    params = {"user[uuid]": user.uuid, "user[id]": str(user.id), "user[username]": user.username,
              "user[email]": user.email, "user[ui_locale]": user.user_default_locale}
    if ext.position != "pim.product-grid.action-bar":
        params["user[catalog_locale]"] = user.catalog_default_locale
        params["user[catalog_scope]"] = user.catalog_default_scope
    params["position"] = ext.position
    params["tenant"] = state.tenant
    params.update(extra or {})
    parts = urlsplit(ext.configuration["url"])
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def mint_jwt(secret: str, user: User, now: float | None = None) -> str:
    """The token answered to `request_jwt`: HS256 with the extension's secret; claims as documented
    (`iat`/`exp` are floats in Akeneo's example, `userId` a string)."""
    issued = time.time() if now is None else now
    claims = {"jti": str(uuidlib.uuid4()), "iat": issued, "exp": issued + JWT_TTL,
              "userId": str(user.id), "userUuid": user.uuid}
    return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT"})


def user_context(user: User, groups_format: str = "names") -> dict:
    groups: list = list(user.groups)
    if groups_format == "objects":
        groups = [{"id": i + 1, "name": name} for i, name in enumerate(groups)]
    return {"uuid": user.uuid, "username": user.username, "groups": groups}


# ---------------------------------------------------------------- actions: the signed POST

def php_json(value: object) -> bytes:
    """JSON as the PIM's PHP HTTP client writes it (compact, `\\/`, `\\uXXXX` escapes), so a receiver
    that re-serialises instead of verifying the raw bytes fails here as it would against Akeneo."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    for char, escaped in (("/", "\\/"), ("<", "\\u003C"), (">", "\\u003E"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, escaped)
    return text.encode()


def sign_action(secret: str, body: bytes) -> str:
    """The `signature` header: `sha512=` + hex HMAC-SHA512 of the raw body (pim-api-docs PR #1224)."""
    return "sha512=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha512).hexdigest()


def action_body(user: User, data: dict, now: float | None = None, category: str | None = None,
                groups_format: str = "names") -> dict:
    context = {"locale": user.catalog_default_locale, "channel": user.catalog_default_scope}
    if category:
        context["category"] = category
    return {"data": data, "context": context, "user": user_context(user, groups_format),
            "timestamp": int(time.time() if now is None else now)}


def _credential_headers(credentials: list[dict]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in credentials:
        if item["type"] == "Bearer Token":
            headers["Authorization"] = f"Bearer {item['value']}"
        elif item["type"] == "Basic Authentication":
            pair = f"{item['value']['username']}:{item['value']['password']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            headers[item["code"]] = item["value"]
    return headers


async def run_action(state: PimState, ext: UiExtension, user: User, data: dict,
                     category: str | None = None) -> dict:
    """POST the action body from the PIM's side (server to server) and record the call. Answers
    `{ok, status, message, elapsed_ms}` for the page's notification."""
    body = php_json(action_body(user, data, state.now(), category, state.action_groups_format))
    headers = {"Content-Type": "application/json", **_credential_headers(ext.credentials)}
    secret = ext.configuration.get("secret")
    if secret:
        headers["signature"] = sign_action(secret, body)
    record: dict = {"extension": ext.uuid, "name": ext.name, "position": ext.position,
                    "url": ext.configuration["url"], "body": json.loads(body), "raw_body": body.decode(),
                    "signed": bool(secret), "at": state.now()}
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=ACTION_TIMEOUT) as client:
            response = await client.post(ext.configuration["url"], content=body, headers=headers)
        text = response.text[:2000]
        ok = 200 <= response.status_code < 300
        record.update(status=response.status_code, response=text, error=None)
        message = _answer_message(text) or (f"HTTP {response.status_code}")
    except httpx.TimeoutException:
        ok, message = False, f"The extension did not answer within {ACTION_TIMEOUT:g} seconds."
        record.update(status=None, response=None, error="timeout")
    except httpx.HTTPError as exc:
        ok, message = False, f"The extension could not be reached ({type(exc).__name__})."
        record.update(status=None, response=None, error=type(exc).__name__)
    record["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    state.action_calls.append(record)
    del state.action_calls[:-200]
    return {"ok": ok, "status": record["status"], "message": message, "elapsed_ms": record["elapsed_ms"]}


def _answer_message(text: str) -> str:
    """What the notification shows: the answer's `message` when it is JSON with one, else its text."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text.strip()[:300]
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return parsed["message"][:300]
    return text.strip()[:300]


# ---------------------------------------------------------------- sandbox knobs (no OAuth, /sandbox/...)

def _knob_error(message: str) -> JSONResponse:
    return JSONResponse({"code": 422, "message": message}, status_code=422)


async def all_extensions(request: Request) -> Response:
    """Every extension of this PIM, with its owner (never its secret): what a test checks."""
    state: PimState = request.app.state.pim
    items = sorted(state.ui_extensions.values(), key=lambda e: e.created_at)
    return JSONResponse({"extensions": [{**normalize(e), "owner": e.owner, "signed": bool(e.configuration.get("secret")),
                                         "credentials": len(e.credentials)} for e in items]})


async def action_calls(request: Request) -> Response:
    state: PimState = request.app.state.pim
    if request.method == "DELETE":
        state.action_calls.clear()
        return Response(status_code=204)
    return JSONResponse({"calls": list(state.action_calls)})


async def set_user_acl(request: Request) -> Response:
    """`{"manage_extensions": false}`: the user's role loses "Manage your extensions using the API"."""
    state: PimState = request.app.state.pim
    user = state.user(request.path_params["username"])
    if user is None:
        return JSONResponse({"code": 404, "message": "no such user"}, status_code=404)
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    if not isinstance(body.get("manage_extensions"), bool):
        return _knob_error("manage_extensions must be true or false")
    user.manage_extensions = body["manage_extensions"]
    return JSONResponse({"username": user.username, "manage_extensions": user.manage_extensions})


async def set_tenant(request: Request) -> Response:
    state: PimState = request.app.state.pim
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    if _blank(body.get("tenant")):
        return _knob_error("tenant must be a non-empty string")
    state.tenant = body["tenant"]
    return JSONResponse({"tenant": state.tenant})


async def set_groups_format(request: Request) -> Response:
    state: PimState = request.app.state.pim
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    if body.get("format") not in ("names", "objects"):
        return _knob_error('format must be "names" or "objects"')
    state.action_groups_format = body["format"]
    return JSONResponse({"format": state.action_groups_format})


async def _set_flag(request: Request, attribute: str) -> Response:
    """A `{"enabled": true|false}` knob stored on the PIM state as `attribute`."""
    state: PimState = request.app.state.pim
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    if not isinstance(body.get("enabled"), bool):
        return _knob_error("enabled must be true or false")
    setattr(state, attribute, body["enabled"])
    return JSONResponse({"enabled": getattr(state, attribute)})


async def set_navigation_jwt(request: Request) -> Response:
    """`{"enabled": false}`: the `pim.activity.navigation.tab` iframe's `request_jwt` goes unanswered."""
    return await _set_flag(request, "navigation_jwt")


async def set_enabled(request: Request) -> Response:
    """`{"enabled": false}`: this PIM has no UI extensions (Community Edition, older versions)."""
    return await _set_flag(request, "ui_extensions_enabled")
