"""The one capped body reader: refused before reading when the declared length is over the cap or
unreadable, abandoned while streaming as soon as it passes the cap."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from service.web.body import api_body, read_capped
from service.web.errors import ApiError


def _request(chunks: list[bytes], content_length: str | None = None) -> tuple[Request, list[int]]:
    """A request whose body arrives in `chunks`; the list returned counts the chunks actually read."""
    read: list[int] = []

    async def receive():
        read.append(1)
        if len(read) > len(chunks):
            raise AssertionError("read past the end of the body")
        return {"type": "http.request", "body": chunks[len(read) - 1], "more_body": len(read) < len(chunks)}

    headers = [(b"content-length", content_length.encode())] if content_length is not None else []
    scope = {"type": "http", "method": "POST", "headers": headers, "path": "/", "query_string": b""}
    return Request(scope, receive), read


def test_a_body_up_to_the_cap_is_read_whole():
    request, _ = _request([b"ab", b"cd"], "4")
    assert asyncio.run(read_capped(request, 4)) == b"abcd"


def test_a_streamed_body_is_abandoned_once_over_the_cap():
    request, read = _request([b"x" * 10] * 100)
    assert asyncio.run(read_capped(request, 25)) is None
    assert len(read) == 3  # 30 bytes: one chunk past the cap, never the rest


@pytest.mark.parametrize("declared", ["26", "99999999999999999999", "-5", "0x10", "1e3", "²", ""])
def test_a_declared_length_over_the_cap_or_unreadable_is_refused_before_reading(declared):
    request, read = _request([b"{}"], declared)
    assert asyncio.run(read_capped(request, 25)) is None
    assert read == []


def test_the_api_answer_is_a_413_with_the_limit_in_words():
    request, _ = _request([b"x" * 30])
    with pytest.raises(ApiError) as caught:
        asyncio.run(api_body(request, 25, "25 bytes"))
    assert (caught.value.status, caught.value.error, caught.value.message, caught.value.extra) == (
        413, "too_large", "The request body is too large (at most 25 bytes).", {"fields": {"body": "is too large"}})
    request, _ = _request([b"x" * 30])
    with pytest.raises(ApiError) as caught:
        asyncio.run(api_body(request, 25, "25 bytes", fields=False))
    assert caught.value.extra == {}
