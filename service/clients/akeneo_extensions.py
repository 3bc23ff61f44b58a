"""The PIM's UI extensions API (`/api/rest/v1/ui-extensions`), on an open `AkeneoClient`.

A small resource group of its own: the client file is at its size limit. Same transport, auth,
retries and typed errors as every other Akeneo call (a 403 is `AkeneoPermissionError`: the
connection's user lacks "Manage your extensions using the API").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from service.clients.akeneo import API, AkeneoClient
from service.clients.akeneo_errors import AkeneoError, AkeneoNotFound

PATH = f"{API}/ui-extensions"
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


class UiExtensions:
    def __init__(self, client: AkeneoClient) -> None:
        self.client = client

    async def list(self) -> list[dict]:
        """The extensions this connection's user owns (the PIM lists only those). A PIM without the
        list route answers 404/405: an empty list then (callers fall back to their stored uuids)."""
        response = await self.client._send("GET", PATH, headers={"Accept": "application/json"})
        if response.status_code in (404, 405):
            return []
        if response.status_code == 200 and response.content.strip().startswith(b"["):
            items = response.json()
            return [i for i in items if isinstance(i, dict)]
        data = self.client._check(response)
        items = data.get("_embedded", {}).get("items", data.get("items", []))
        return [i for i in items if isinstance(i, dict)]

    async def create(self, body: dict[str, Any]) -> dict:
        response = await self.client._send("POST", PATH, json_body=body, headers=JSON)
        return self._answer(response)

    async def update(self, uuid: str, body: dict[str, Any]) -> dict:
        response = await self.client._send("PATCH", f"{PATH}/{quote(uuid, safe='')}", json_body=body, headers=JSON)
        return self._answer(response)

    async def delete(self, uuid: str) -> bool:
        """True when deleted, False when it was already gone."""
        response = await self.client._send("DELETE", f"{PATH}/{quote(uuid, safe='')}",
                                           headers={"Accept": "application/json"})
        if response.status_code in (200, 204):
            return True
        try:
            self.client._check(response)
        except AkeneoNotFound:
            return False
        raise AkeneoError(f"Akeneo answered {response.status_code} to a UI extension delete", response.status_code)

    def _answer(self, response) -> dict:
        location = response.headers.get("Location", "")
        if response.status_code in (200, 201, 204) and not response.content.strip():
            # answered without a body: the uuid, if any, is the Location's last segment
            return {"uuid": location.rstrip("/").rsplit("/", 1)[-1]} if location else {}
        data = self.client._check(response)
        if not data.get("uuid") and location:
            data = {**data, "uuid": location.rstrip("/").rsplit("/", 1)[-1]}
        return data
