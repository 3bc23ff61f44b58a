"""Shared helpers of the mapping tests: a tenant with green connections, editing a mapping document."""

from __future__ import annotations

import copy

from service.store import mapping as mapping_store
from tests.config_env import BC_CLIENT, BC_TOKEN, STORE


def connect(client, pim_url: str, *, bigcommerce: bool = True, main: bool = True) -> None:
    client.connect_pim(pim_url)
    if bigcommerce:
        response = client.put("/api/config/bigcommerce", {"store_hash": STORE, "client_id": BC_CLIENT,
                                                          "access_token": BC_TOKEN})
        assert response.status_code == 200 and response.json()["connected"], response.text
    if main:
        response = client.put("/api/config/main", {"locale": "en_US", "channel": "ecommerce", "category": "master"})
        assert response.status_code == 200, response.text


def fields_of(doc: dict) -> dict:
    return {f["field"]: f for f in doc["fields"]}


def with_value(doc: dict, field: str, value) -> dict:
    edited = copy.deepcopy(doc)
    for f in edited["fields"]:
        if f["field"] == field:
            f["value"] = value
    return edited


def saved(client) -> dict | None:
    return mapping_store.get_mapping(client.store, client.tenant)
