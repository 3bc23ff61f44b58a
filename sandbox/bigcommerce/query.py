"""Query-string helpers: pagination meta, `:in` lists, integer parameters."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request

from .errors import invalid

MAX_LIMIT = 250


def int_param(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid({name: f"'{raw}' is not a valid integer"}, "Invalid query parameter") from None


def int_list(request: Request, name: str) -> list[int] | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise invalid({name: f"'{raw}' is not a list of integers"}, "Invalid query parameter") from None


def str_list(request: Request, name: str) -> list[str] | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    return [x for x in raw.split(",") if x != ""]


def bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw.lower() in ("1", "true"):
        return True
    if raw.lower() in ("0", "false"):
        return False
    raise invalid({name: f"'{raw}' is not a boolean"}, "Invalid query parameter")


def paginate(request: Request, items: list, default_limit: int = 50) -> tuple[list, dict]:
    limit = int_param(request, "limit", default_limit)
    page = int_param(request, "page", 1)
    if limit < 1 or limit > MAX_LIMIT:
        raise invalid({"limit": f"limit must be between 1 and {MAX_LIMIT}"}, "Invalid query parameter")
    if page < 1:
        raise invalid({"page": "page must be 1 or greater"}, "Invalid query parameter")
    total = len(items)
    total_pages = (total + limit - 1) // limit
    chunk = items[(page - 1) * limit: page * limit]
    keep = {k: v for k, v in request.query_params.items() if k not in ("page", "limit")}

    def link(p: int) -> str:
        return "?" + urlencode({**keep, "limit": limit, "page": p})

    links = {"current": link(page)}
    if page > 1:
        links["previous"] = link(page - 1)
    if page < total_pages:
        links["next"] = link(page + 1)
    meta = {"pagination": {"total": total, "count": len(chunk), "per_page": limit, "current_page": page,
                           "total_pages": total_pages, "links": links}}
    return chunk, meta
