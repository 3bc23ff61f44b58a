"""The main configuration's JSON API: `PUT /api/config/main` and the pickers it is chosen with, `GET
/api/pim/locales|channels|categories`. Parse the form or the query, call service.config.main or
service.config.choices (the PIM read on the credentials in force), answer; their refusals are answered by
the app's one handler."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse

from service.config import choices, forms, main
from service.config.public import public_main
from service.web.config_api import author, context, read_form

LIMIT = re.compile(r"^[0-9]{1,3}$")  # ASCII digits only: "²".isdigit() is true, int("²") fails


async def put_main(request: Request) -> JSONResponse:
    """
    summary: Save locale, channel and main category after checking them against the PIM.
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/MainForm'}}}}
    responses:
      200: {description: "{saved, main, changed}", content: {application/json: {schema: {$ref: '#/components/schemas/MainSaved'}}}}
      409: {description: "pim_not_connected, or confirmation_required after the first import"}
      413: {description: body larger than 64 KB}
      422: {description: invalid or inconsistent codes}
      502: {description: the PIM failed}
    """
    values, errors = forms.read_main(await read_form(request))
    if errors:
        raise forms.FieldsInvalid(errors)
    section, changed = await main.check_and_save(*context(request), values, author(request))
    return JSONResponse({"saved": True, "main": public_main(section), "changed": changed})


# --- the pickers: choices read from the PIM -------------------------------------------------------------


class _Query:
    """A picker's query parameters, read strictly: what is wrong with each goes into `errors`, refused
    all together (422) by `check`."""

    def __init__(self, request: Request) -> None:
        self.params = request.query_params
        self.errors: dict[str, str] = {}

    def text(self, name: str, max_length: int = 255) -> str | None:
        value = self.params.get(name)
        if value is None:
            return None
        value = value.strip()
        if len(value) > max_length:
            self.errors[name] = f"is too long (at most {max_length} characters)"
            return None
        if problem := forms.text_problem(value):
            self.errors[name] = problem
            return None
        return value or None

    def code(self, name: str) -> str | None:
        value = self.text(name)
        if value and (problem := forms.code_problem(value)):
            self.errors[name] = problem
        return value

    def check(self) -> None:
        if self.errors:
            raise forms.FieldsInvalid(self.errors)


async def pim_locales(request: Request) -> JSONResponse:
    """
    summary: The PIM's enabled locales (optionally only a channel's).
    parameters:
      - {name: channel, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: "{items: [{code, label}], next: null}", content: {application/json: {schema: {$ref: '#/components/schemas/Choices'}}}}
      409: {description: pim_not_connected}
      422: {description: unusable or unknown channel}
      502: {description: the PIM failed}
    """
    query = _Query(request)
    channel = query.code("channel")
    query.check()
    return JSONResponse({"items": await choices.locales(*context(request), channel), "next": None})


async def pim_channels(request: Request) -> JSONResponse:
    """
    summary: The PIM's channels with their locales and category tree.
    parameters:
      - {name: locale, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: "{items: [{code, label, locales, category_tree, currencies}], next: null}", content: {application/json: {schema: {$ref: '#/components/schemas/Choices'}}}}
      409: {description: pim_not_connected}
      422: {description: unusable locale}
      502: {description: the PIM failed}
    """
    query = _Query(request)
    locale = query.text("locale")
    query.check()
    return JSONResponse({"items": await choices.channels(*context(request), locale), "next": None})


async def pim_categories(request: Request) -> JSONResponse:
    """
    summary: One page of categories for the picker, never the whole tree.
    description: "`parent=` lists a category's children (roots without it); `search=` matches codes and
      labels (server-side, bounded scan per call); `limit` 1..100 (default 20); `next` is an opaque cursor to
      pass back as `cursor` with the same other parameters."
    parameters:
      - {name: search, in: query, required: false, schema: {type: string}}
      - {name: parent, in: query, required: false, schema: {type: string}}
      - {name: locale, in: query, required: false, schema: {type: string}}
      - {name: limit, in: query, required: false, schema: {type: integer}}
      - {name: cursor, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: "{items: [{code, label, parent}], next: str|null}", content: {application/json: {schema: {$ref: '#/components/schemas/Choices'}}}}
      409: {description: pim_not_connected}
      422: {description: "bad limit, cursor or code (the PIM refused the parent, search or cursor)"}
      502: {description: the PIM failed}
    """
    query = _Query(request)
    search, parent, locale = query.text("search", 200), query.code("parent"), query.text("locale")
    raw_limit = request.query_params.get("limit", "20").strip()
    limit = int(raw_limit) if LIMIT.fullmatch(raw_limit) else 0
    if not 1 <= limit <= 100:
        query.errors["limit"] = "must be a whole number from 1 to 100"
    page = None
    if cursor := query.text("cursor", 4000):
        page = choices.decode_cursor(cursor)
        if page is None:
            query.errors["cursor"] = "is not a cursor this API gave out"
    query.check()
    items, next_cursor = await choices.categories(*context(request), search=search, parent=parent, locale=locale,
                                                  limit=limit, cursor=cursor, page=page)
    return JSONResponse({"items": items, "next": next_cursor})
