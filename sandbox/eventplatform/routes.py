"""The sandbox Event Platform management API, mounted by the sandbox PIM at `/event-platform`:
`/event-platform/api/v1/...` (Akeneo's paths) and `/event-platform/sandbox/...` (test controls).

Every API call carries `X-PIM-URL` (this PIM's base URL), `X-PIM-TOKEN` (an access token this PIM issued,
not expired) and `X-PIM-CLIENT-ID` (the token's connection); otherwise 401."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import strictjson

from .platform import KNOWN_TYPES, MAX_SUBSCRIBERS, MAX_SUBSCRIPTIONS, EventPlatform, Knobs, Subscription


def _platform(request: Request) -> EventPlatform:
    return request.app.state.event_platform


def _fail(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"code": status, "message": message, **extra}, status_code=status)


def _pim_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def _auth(request: Request) -> tuple[str, JSONResponse | None]:
    """(client id, None) or ("", 401)."""
    state = request.app.state.pim
    url = (request.headers.get("x-pim-url") or "").strip().rstrip("/").lower()
    token = (request.headers.get("x-pim-token") or "").strip()
    client_id = (request.headers.get("x-pim-client-id") or "").strip()
    if not url or not token or not client_id:
        return "", _fail(401, "X-PIM-URL, X-PIM-TOKEN and X-PIM-CLIENT-ID are required.")
    if url != _pim_url(request):
        return "", _fail(401, "The PIM URL does not match the PIM that issued the token.")
    entry = state.access_tokens.get(token)
    if entry is None or entry.expires_at <= state.now() or entry.client_id != client_id:
        return "", _fail(401, "Invalid credentials: the access token is unknown, expired or not this client's.")
    return client_id, None


async def _body(request: Request) -> dict | JSONResponse:
    try:
        body = strictjson.loads(await request.body() or b"{}")
    except ValueError:
        return _fail(400, "Bad request: the request payload was malformatted.")
    return body if isinstance(body, dict) else _fail(400, "Bad request: expected a JSON object.")


def _subscriber(request: Request, client_id: str) -> dict | JSONResponse:
    sub = _platform(request).subscribers.get(request.path_params["subscriber_id"])
    if sub is None or sub["client_id"] != client_id or sub["status"] == "deleted":
        return _fail(404, "Subscriber not found.")
    return sub


def _subscription(request: Request, subscriber: dict) -> Subscription | JSONResponse:
    s = _platform(request).subscriptions.get(request.path_params["subscription_id"])
    if s is None or s.subscriber_id != subscriber["id"] or s.status == "deleted":
        return _fail(404, "Subscription not found.")
    return s


def _public_subscriber(sub: dict) -> dict:
    return {k: sub[k] for k in ("id", "name", "subject", "client_id", "status", "contact", "created_at", "updated_at")}


async def create_subscriber(request: Request) -> Response:
    client_id, failure = _auth(request)
    if failure:
        return failure
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    name, contact = body.get("name"), body.get("contact") or {}
    if not isinstance(name, str) or not name.strip() or not isinstance(contact, dict) or \
            not isinstance(contact.get("technical_email"), str) or "@" not in contact["technical_email"]:
        return _fail(400, "Bad request: name and contact.technical_email are required.")
    platform = _platform(request)
    live = [s for s in platform.subscribers.values() if s["subject"] == _pim_url(request) and s["status"] == "active"]
    if any(s["client_id"] == client_id for s in live):
        return _fail(409, "A subscriber already exists for this PIM connection.")
    if len(live) >= MAX_SUBSCRIBERS:
        return _fail(403, "Maximum number of subscribers reached.")
    return JSONResponse(_public_subscriber(platform.add_subscriber(_pim_url(request), client_id, name, contact)), 201)


async def list_subscribers(request: Request) -> Response:
    client_id, failure = _auth(request)
    if failure:
        return failure
    subs = [s for s in _platform(request).subscribers.values() if s["client_id"] == client_id
            and s["subject"] == _pim_url(request) and s["status"] != "deleted"]
    return JSONResponse([_public_subscriber(s) for s in subs])


async def subscriber(request: Request) -> Response:
    client_id, failure = _auth(request)
    if failure:
        return failure
    sub = _subscriber(request, client_id)
    if isinstance(sub, JSONResponse):
        return sub
    if request.method == "DELETE":
        _platform(request).delete_subscriber(sub["id"])
        return Response(status_code=204)
    return JSONResponse(_public_subscriber(sub))


def _check_events(events: Any) -> str | None:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        return "events must be a non-empty list of event types"
    unknown = [e for e in events if e not in KNOWN_TYPES]
    return f"unknown event types: {', '.join(unknown)}" if unknown else None


async def create_subscription(request: Request) -> Response:
    client_id, failure = _auth(request)
    if failure:
        return failure
    sub = _subscriber(request, client_id)
    if isinstance(sub, JSONResponse):
        return sub
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    platform = _platform(request)
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    secret = config.get("secret") if isinstance(config.get("secret"), dict) else {}
    url = config.get("url")
    errors = []
    if body.get("source") != "pim":
        errors.append('source must be "pim"')
    if str(body.get("subject", "")).rstrip("/").lower() != sub["subject"]:
        errors.append("subject must be the subscriber's PIM URL")
    if body.get("type") != "https":
        errors.append('type must be "https"')
    problem = _check_events(body.get("events"))
    if problem:
        errors.append(problem)
    schemes = ("https://",) if platform.knobs.require_https else ("https://", "http://")
    if not isinstance(url, str) or not url.startswith(schemes):
        errors.append("config.url must be an https URL")
    primary, secondary = secret.get("primary"), secret.get("secondary")
    if not isinstance(primary, str) or len(primary) < 8 or not (secondary is None or isinstance(secondary, str)):
        errors.append("config.secret.primary is required (at least 8 characters)")
    if errors:
        return _fail(400, "Bad request: " + "; ".join(errors), errors=errors)
    if len(platform.subscriptions_of(sub["id"])) >= MAX_SUBSCRIPTIONS:
        return _fail(403, "Maximum number of subscriptions reached.")
    if platform.knobs.check_head and not await platform.head_ok(url):
        return _fail(400, "Bad request: the destination did not answer 200 to a HEAD request.")
    s = Subscription(id=str(uuid.uuid4()), subscriber_id=sub["id"], subject=sub["subject"],
                     events=list(body["events"]), url=url, primary=primary, secondary=secondary or None)
    platform.subscriptions[s.id] = s
    return JSONResponse(s.public(), 201)


async def list_subscriptions(request: Request) -> Response:
    client_id, failure = _auth(request)
    if failure:
        return failure
    sub = _subscriber(request, client_id)
    if isinstance(sub, JSONResponse):
        return sub
    return JSONResponse([s.public() for s in _platform(request).subscriptions_of(sub["id"])])


async def subscription(request: Request) -> Response:
    client_id, failure = _auth(request)
    if failure:
        return failure
    sub = _subscriber(request, client_id)
    if isinstance(sub, JSONResponse):
        return sub
    s = _subscription(request, sub)
    if isinstance(s, JSONResponse):
        return s
    platform = _platform(request)
    if request.method == "DELETE":
        platform.set_status(s, "deleted")
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await _body(request)
        if isinstance(body, JSONResponse):
            return body
        if "events" in body:
            problem = _check_events(body["events"])
            if problem:
                return _fail(400, "Bad request: " + problem)
            s.events = list(body["events"])
        secret = (body.get("config") or {}).get("secret") if isinstance(body.get("config"), dict) else None
        if isinstance(secret, dict) and isinstance(secret.get("primary"), str) and len(secret["primary"]) >= 8:
            s.primary, s.secondary = secret["primary"], secret.get("secondary") or None
        platform.set_status(s, s.status)
    return JSONResponse(s.public())


async def suspend(request: Request) -> Response:
    return await _transition(request, "suspended", ("active", "suspended"))


async def resume(request: Request) -> Response:
    return await _transition(request, "active", ("suspended", "active"))


async def _transition(request: Request, to: str, allowed: tuple[str, ...]) -> Response:
    client_id, failure = _auth(request)
    if failure:
        return failure
    sub = _subscriber(request, client_id)
    if isinstance(sub, JSONResponse):
        return sub
    s = _subscription(request, sub)
    if isinstance(s, JSONResponse):
        return s
    if s.status not in allowed:
        return _fail(409, f"A {s.status} subscription cannot become {to}.")
    _platform(request).set_status(s, to)
    return JSONResponse(s.public())


# -- sandbox controls (no auth) --------------------------------------------------------------------

async def set_knobs(request: Request) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    try:
        knobs = Knobs(seed=body.get("seed"), duplicate_rate=float(body.get("duplicate_rate", 0.0)),
                      reorder_rate=float(body.get("reorder_rate", 0.0)),
                      retry_delays=tuple(float(x) for x in body.get("retry_delays", (0.5, 1.0, 2.0))),
                      require_https=bool(body.get("require_https", False)),
                      check_head=bool(body.get("check_head", True)))
    except (TypeError, ValueError):
        return _fail(422, "seed (int), duplicate_rate, reorder_rate (0..1), retry_delays (seconds)")
    if not (0 <= knobs.duplicate_rate <= 1 and 0 <= knobs.reorder_rate <= 1):
        return _fail(422, "rates are within 0..1")
    _platform(request).set_knobs(knobs)
    return JSONResponse({"ok": True})


async def state(request: Request) -> Response:
    platform = _platform(request)
    if request.method == "DELETE":
        platform.deliveries.clear()
        return Response(status_code=204)
    return JSONResponse({"subscribers": [_public_subscriber(s) for s in platform.subscribers.values()],
                         "subscriptions": [s.public() for s in platform.subscriptions.values()],
                         "deliveries": platform.deliveries[-1000:]})


async def revoke(request: Request) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    return JSONResponse({"revoked": _platform(request).revoke_client(str(body.get("client_id", "")))})


API = "/api/v1"
ROUTES = [
    Route(f"{API}/subscribers", create_subscriber, methods=["POST"]),
    Route(f"{API}/subscribers", list_subscribers, methods=["GET"]),
    Route(f"{API}/subscribers/{{subscriber_id}}", subscriber, methods=["GET", "DELETE"]),
    Route(f"{API}/subscribers/{{subscriber_id}}/subscriptions", create_subscription, methods=["POST"]),
    Route(f"{API}/subscribers/{{subscriber_id}}/subscriptions", list_subscriptions, methods=["GET"]),
    Route(f"{API}/subscribers/{{subscriber_id}}/subscriptions/{{subscription_id}}", subscription,
          methods=["GET", "PATCH", "DELETE"]),
    Route(f"{API}/subscribers/{{subscriber_id}}/subscriptions/{{subscription_id}}/suspend", suspend, methods=["POST"]),
    Route(f"{API}/subscribers/{{subscriber_id}}/subscriptions/{{subscription_id}}/resume", resume, methods=["POST"]),
    Route("/sandbox/knobs", set_knobs, methods=["POST"]),
    Route("/sandbox/state", state, methods=["GET", "DELETE"]),
    Route("/sandbox/revoke", revoke, methods=["POST"]),
]
