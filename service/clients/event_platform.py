"""Akeneo Event Platform management API client (subscribers and subscriptions).

Every call carries `X-PIM-URL`, `X-PIM-TOKEN` (an access token of the PIM connection) and
`X-PIM-CLIENT-ID`. `EVENT_PLATFORM_URL` is an operator setting (Akeneo's endpoint, or the sandbox in
tests), not a merchant's URL. Errors are typed; callers never see raw HTTP.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

USER_AGENT = "akeneo-bigcommerce-connector/1.0"


class EventPlatformError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class EventPlatformAuthError(EventPlatformError):
    """401/403: the token is refused, or the connection lacks the Event Platform permission."""


class EventPlatformNotFound(EventPlatformError):
    pass


class EventPlatformConflict(EventPlatformError):
    pass


class EventPlatformRefused(EventPlatformError):
    """400/422: the platform refused the request (e.g. the webhook URL failed its HEAD check)."""


class EventPlatformUnavailable(EventPlatformError):
    """Network failure, timeout or 5xx."""


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:300]
    return str(body)[:300]


class EventPlatformClient:
    def __init__(self, base_url: str, pim_url: str, token: str, client_id: str, *, timeout: float = 15.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            timeout=timeout, transport=transport, follow_redirects=False,
            headers={"X-PIM-URL": pim_url.rstrip("/"), "X-PIM-TOKEN": token, "X-PIM-CLIENT-ID": client_id,
                     "Accept": "application/json", "User-Agent": USER_AGENT})

    async def __aenter__(self) -> EventPlatformClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = await self._http.request(method, f"{self.base_url}{path}", json=body)
        except httpx.HTTPError as exc:
            raise EventPlatformUnavailable(f"The Event Platform could not be reached ({type(exc).__name__})") from None
        status = response.status_code
        if status in (200, 201):
            try:
                return response.json()
            except ValueError:
                raise EventPlatformUnavailable("The Event Platform answered with something that is not JSON",
                                               status) from None
        if status == 204:
            return None
        message = _message(response)
        if status in (401, 403):
            raise EventPlatformAuthError(message, status)
        if status == 404:
            raise EventPlatformNotFound(message, status)
        if status == 409:
            raise EventPlatformConflict(message, status)
        if 400 <= status < 500:
            raise EventPlatformRefused(message, status)
        raise EventPlatformUnavailable(f"The Event Platform failed ({status}): {message}", status)

    # -- subscribers -------------------------------------------------------------------------------
    async def create_subscriber(self, name: str, technical_email: str) -> dict:
        return await self._call("POST", "/subscribers", {"name": name, "contact": {"technical_email": technical_email}})

    async def list_subscribers(self) -> list[dict]:
        found = await self._call("GET", "/subscribers")
        return found if isinstance(found, list) else list((found or {}).get("items") or [])

    async def get_subscriber(self, subscriber_id: str) -> dict:
        return await self._call("GET", f"/subscribers/{quote(subscriber_id, safe='')}")

    async def delete_subscriber(self, subscriber_id: str) -> None:
        await self._call("DELETE", f"/subscribers/{quote(subscriber_id, safe='')}")

    # -- subscriptions -----------------------------------------------------------------------------
    def _sub(self, subscriber_id: str, subscription_id: str | None = None, action: str = "") -> str:
        path = f"/subscribers/{quote(subscriber_id, safe='')}/subscriptions"
        if subscription_id:
            path += f"/{quote(subscription_id, safe='')}"
        return path + (f"/{action}" if action else "")

    async def create_subscription(self, subscriber_id: str, *, subject: str, url: str, events: list[str],
                                  primary: str, secondary: str | None) -> dict:
        secret = {"primary": primary, **({"secondary": secondary} if secondary else {})}
        body = {"source": "pim", "subject": subject, "events": events, "type": "https",
                "config": {"url": url, "secret": secret}}
        return await self._call("POST", self._sub(subscriber_id), body)

    async def list_subscriptions(self, subscriber_id: str) -> list[dict]:
        found = await self._call("GET", self._sub(subscriber_id))
        return found if isinstance(found, list) else list((found or {}).get("items") or [])

    async def get_subscription(self, subscriber_id: str, subscription_id: str) -> dict:
        return await self._call("GET", self._sub(subscriber_id, subscription_id))

    async def suspend_subscription(self, subscriber_id: str, subscription_id: str) -> dict:
        return await self._call("POST", self._sub(subscriber_id, subscription_id, "suspend"))

    async def resume_subscription(self, subscriber_id: str, subscription_id: str) -> dict:
        return await self._call("POST", self._sub(subscriber_id, subscription_id, "resume"))

    async def delete_subscription(self, subscriber_id: str, subscription_id: str) -> None:
        await self._call("DELETE", self._sub(subscriber_id, subscription_id))
