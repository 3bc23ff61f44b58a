"""How a tested connection is recorded: the credentials that last passed stay in force until new ones
pass; a failed attempt is kept beside them (what failed, and the typed secrets for the next try). Which
credentials are in force, and what they open, is service.connections."""

from __future__ import annotations

import time
from typing import Any

from service.store import Store, attempt_name

# What a secret belongs to: a stored secret is used again only with these values unchanged, so an edited
# URL (or client, or user) never receives the secret typed for another one.
IDENTITY = {"pim": ("url", "client_id", "username"), "bigcommerce": ("store_hash", "client_id")}
SECRETS = {"pim": ("secret", "password"), "bigcommerce": ("access_token",)}


def save_tested(store: Store, tenant: str, kind: str, credentials: dict, section: dict) -> str | None:
    """Record a connection test. Passed: credentials and section go in force together with the PIM/store
    link (atomically; None), unless another tenant's credentials in force already connect that PIM or
    store (its id is returned and nothing is written). Failed: kept as the latest attempt, the
    credentials in force stay as they are (None)."""
    if section["connected"]:
        return store.save_connection(tenant, kind, credentials, section)
    store.save_attempt(tenant, kind, credentials, section)
    return None


def has_credentials(store: Store, tenant: str, kind: str) -> bool:
    """Whether any credentials of this kind are on file (in force or a failed attempt)."""
    return bool(store.get_credentials(tenant, kind) or store.get_credentials(tenant, attempt_name(kind)))


def kept_secrets(store: Store, tenant: str, kind: str, identity: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """`(secrets, changed)`: the stored secrets an empty field may keep for a save with this identity (from
    the latest attempt, else from the credentials in force, whichever was saved with this very identity),
    and when none was, the identity fields that differ from the stored credentials' (empty: none stored)."""
    names = IDENTITY[kind]
    candidates = []
    for slot in (attempt_name(kind), kind):
        creds = store.get_credentials(tenant, slot)
        if creds:
            section = store.get_section(tenant, slot)
            candidates.append((creds, {n: section.get(n, creds.get(n)) for n in names}))
    for creds, stored in candidates:
        if all(stored.get(n) == identity.get(n) for n in names):
            return {s: creds[s] for s in SECRETS[kind] if creds.get(s)}, []
    if not candidates:
        return {}, []
    _, stored = candidates[-1]  # name what differs from the credentials in force (else the attempt)
    return {}, [n for n in names if stored.get(n) != identity.get(n)]


def pim_section(result: dict[str, Any], credentials: dict[str, str], hints: list[str]) -> dict[str, Any]:
    """The `pim` section for a check result of these credentials (never their secret nor password)."""
    return {"url": credentials["url"], "client_id": credentials["client_id"], "username": credentials["username"],
            "connected": result["connected"], "message": result["message"], "hints": hints,
            "tested_at": time.time()}


def bigcommerce_section(result: dict[str, Any], *, store_hash: str, client_id: str, hints: list[str],
                        kept: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `bigcommerce` section for a check result (`kept`: what an app install adds: installed_as_app,
    scope). Written by the configuration API and by the app's install callback alike."""
    return {**(kept or {}), "store_hash": store_hash, "client_id": client_id, "connected": result["connected"],
            "message": result["message"], "hints": hints, "store": result.get("store", {}),
            "tested_at": time.time()}

