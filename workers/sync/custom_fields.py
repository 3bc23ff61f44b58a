"""A product's custom fields in the store: the ones the mapping names are ours, by id (state `cf`:
[[name, id], ...]); a field the merchant added by hand is never touched."""

from __future__ import annotations

import contextlib

from service.clients.bigcommerce import BigCommerceClient
from service.clients.bigcommerce_errors import BigCommerceError, BigCommerceNotFound


def with_ids(fields: list[dict], state: dict) -> list[dict]:
    """The fields to send: known ones by id (matched by name, in order), new ones without (BigCommerce
    adds them)."""
    free: dict[str, list[int]] = {}
    for name, fid in state.get("cf") or []:
        free.setdefault(name, []).append(fid)
    out = []
    for f in fields:
        ids = free.get(f.get("name"))
        out.append({"id": ids.pop(0), **f} if ids else dict(f))
    return out


async def note_ours(bc: BigCommerceClient, product_id: int, wanted: list[dict], sent: list[dict],
                    answered: list[dict] | None, state: dict) -> None:
    """After an update: the ids of our fields (those we knew, or named as the mapping names them); new
    fields' ids are read when the answer did not carry them, else the next change would add them twice."""
    if answered is None and any("id" not in f for f in sent):
        with contextlib.suppress(BigCommerceError):
            answered = await bc.list_custom_fields(product_id)
    if answered is not None:
        known = {fid for _, fid in state.get("cf") or []}
        names = {f.get("name") for f in wanted}
        state["cf"] = [[f.get("name"), int(f["id"])] for f in answered
                       if "id" in f and (int(f["id"]) in known or f.get("name") in names)]


async def delete_stale(bc: BigCommerceClient, product_id: int, wanted: list[dict], state: dict) -> bool:
    """Delete our fields the mapping no longer fills; returns whether all went (else tried again)."""
    count: dict[str, int] = {}
    for f in wanted:
        count[f.get("name")] = count.get(f.get("name"), 0) + 1
    keep, complete = [], True
    for name, fid in state.get("cf") or []:
        if count.get(name, 0) > 0:
            count[name] -= 1
            keep.append([name, fid])
            continue
        try:
            await bc.delete_custom_field(product_id, fid)
        except BigCommerceNotFound:
            pass  # gone already: what was wanted
        except BigCommerceError:
            keep.append([name, fid])  # tried again on the next sync
            complete = False
    state["cf"] = keep
    return complete
