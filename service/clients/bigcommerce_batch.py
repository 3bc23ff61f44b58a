"""Catalog batches on BigCommerce: chunking, and telling the items a store refused from those it saved.

`BigCommerceClient.update_products`, `update_variants`, `create_categories` and `update_categories` are
the entry points; the batch logic lives here, built on the client's own send (and page walk), so every
request keeps the client's auth, pacing, retries and exactly-once recovery.

Guarantees:
- `chunks` keeps order and never yields more than `size` items;
- refused items do not raise: `BatchResult.errors` names each one (`ItemError`) and `BatchResult.data`
  holds what BigCommerce saved; any other error (auth, 413, 429/5xx after retries, ...) raises;
- `split_batch` takes 400/422, 409 and 404 as refusals and halves a chunk refused as a whole until the
  refused items stand alone;
- `category_batch` takes 400/422, 409 and a 207's error map, spread over the items its `<index>.<field>`
  keys name; after a lost answer to a create it looks the chunk's categories up before posting again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from service.clients.bigcommerce_errors import (
    BigCommerceConflict,
    BigCommerceNotFound,
    BigCommerceValidationError,
)

# Looks up what a write whose answer was lost may have made; its body, or None to send again.
Recover = Callable[[], Awaitable[Any]]


class Send(Protocol):
    """`BigCommerceClient._send`: one call through the retry loop; the decoded body, None when empty."""

    async def __call__(
        self, method: str, path: str, *, json: Any = None, params: dict | None = None,
        recover: Recover | None = None,
    ) -> Any: ...


class Pages(Protocol):
    """`BigCommerceClient._pages`: every item of a paginated list."""

    def __call__(self, path: str, params: dict | None = None) -> AsyncIterator[dict]: ...


@dataclass
class ItemError:
    """One item of a batch that BigCommerce refused on its own."""

    item: dict
    status: int | None
    title: str
    errors: dict


@dataclass
class BatchResult:
    data: list[dict] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    """`items` in slices of at most `size`, in order."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- products, variants: split a refused batch ----------------------------------------------------


async def split_batch(send: Send, method: str, path: str, items: Sequence[dict], size: int) -> BatchResult:
    """Send `items` in chunks of `size`; a chunk refused as a whole is split down to the bad items."""
    result = BatchResult()
    for chunk in chunks(list(items), size):
        await _split(send, method, path, list(chunk), result)
    return result


async def _split(send: Send, method: str, path: str, chunk: list[dict], result: BatchResult) -> None:
    try:
        body = await send(method, path, json=chunk)
    except (BigCommerceValidationError, BigCommerceConflict, BigCommerceNotFound) as exc:
        # BigCommerce refuses a whole batch for one bad item (and 404s for one deleted id)
        if len(chunk) == 1:
            result.errors.append(ItemError(chunk[0], exc.status, exc.title, exc.errors))
            return
        middle = len(chunk) // 2
        await _split(send, method, path, chunk[:middle], result)
        await _split(send, method, path, chunk[middle:], result)
        return
    result.data.extend((body or {}).get("data") or [])


# --- categories: partial success (207) -----------------------------------------------------------


async def category_batch(
    send: Send, pages: Pages, method: str, path: str, items: Sequence[dict], size: int
) -> BatchResult:
    """POST (create) or PUT (update) categories at `path` in chunks of `size`. BigCommerce saves what it
    can (207): refused items come back in `errors`, by item."""
    result = BatchResult()
    for chunk in chunks(list(items), size):
        chunk = list(chunk)
        recover = _find_categories(pages, path, chunk) if method == "POST" else None
        try:
            body = await send(method, path, json=chunk, recover=recover) or {}
        except (BigCommerceValidationError, BigCommerceConflict) as exc:
            _attribute(chunk, exc.status, exc.title, exc.errors, result)
            continue
        result.data += body.get("data") or []
        failed = body.get("errors")
        if isinstance(failed, dict) and failed:  # 207: {status, title, errors: {"<i>.<field>": msg}}
            _attribute(chunk, failed.get("status"), str(failed.get("title", "")), failed.get("errors") or {},
                       result)
    return result


def _find_categories(pages: Pages, path: str, chunk: list[dict]) -> Recover:
    """After a lost answer: the chunk's categories if they all exist already (the create went
    through), else None and the chunk is posted again."""

    async def recover() -> dict | None:
        parents = sorted({int(item.get("parent_id") or 0) for item in chunk})
        params = {"parent_id:in": ",".join(map(str, parents))}
        existing = {
            (c.get("parent_id") or 0, c.get("tree_id") if not c.get("parent_id") else None, c["name"].lower()): c
            async for c in pages(path, params)
        }
        found = []
        for item in chunk:
            parent = int(item.get("parent_id") or 0)
            match = existing.get((parent, item.get("tree_id") if not parent else None, item["name"].lower()))
            if match is None:
                return None
            found.append(match)
        return {"data": found}

    return recover


def _attribute(chunk: list[dict], status: int | None, title: str, errors: dict, result: BatchResult) -> None:
    """Spread a batch error map keyed `<index>.<field>` over the items it names."""
    by_index: dict[int, dict] = {}
    for key, message in (errors or {}).items():
        head, _, rest = str(key).partition(".")
        if head.isdigit() and int(head) < len(chunk):
            by_index.setdefault(int(head), {})[rest or key] = message
        else:
            by_index.setdefault(-1, {})[key] = message
    if not by_index:
        by_index[-1] = {}
    for index, fields in sorted(by_index.items()):
        item = chunk[index] if index >= 0 else {}
        result.errors.append(ItemError(item, status, title or f"HTTP {status}", fields))


__all__ = ["BatchResult", "ItemError", "Pages", "Recover", "Send", "category_batch", "chunks", "split_batch"]
