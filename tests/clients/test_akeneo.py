"""The Akeneo client against the sandbox PIM over real HTTP (uvicorn on loopback)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sandbox.pim import create_app
from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import (
    AkeneoAuthError,
    AkeneoNotFound,
    AkeneoPermissionError,
    AkeneoUnreachable,
    AkeneoValidationError,
)
from service.clients.akeneo_search import search_filter
from tests.servers import serve

CLIENT = ("sandbox-client", "sandbox-secret")
LOGGER = "connector.akeneo"


@pytest.fixture(scope="module")
def sandbox():
    app = create_app()
    with serve(app) as base_url:
        yield base_url, app.state.pim


@pytest.fixture
def pim(sandbox):
    """(base_url, state) with faults cleared after the test."""
    base_url, state = sandbox
    yield base_url, state
    state.set_faults()


def client(base_url: str, username: str = "admin", password: str = "admin", **options) -> AkeneoClient:
    options.setdefault("allow_private_addresses", True)  # the sandbox listens on loopback
    pim = AkeneoClient(base_url, *CLIENT, username, password, **options)
    pim.backoff_base = 0.05  # keep retried tests quick; Retry-After still applies in full
    return pim


def run(coro):
    return asyncio.run(coro)


def records(caplog, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.getMessage() == message]


# --- authentication ------------------------------------------------------------------------------


def test_check_connection_authenticates_and_reads(pim):
    base_url, _ = pim

    async def go():
        async with client(base_url) as akeneo:
            return await akeneo.check_connection(), akeneo.requests_made

    info, requests = run(go())
    assert info["authenticated"] is True
    assert info["sample_channel"] in {"ecommerce", "mobile", "print"}
    assert requests == 2  # one token, one read


@pytest.mark.parametrize(
    ("credentials", "kind", "text"),
    [
        ((*CLIENT, "admin", "wrong"), "credentials", "No user found"),
        ((*CLIENT, "nobody", "admin"), "credentials", "No user found"),
        (("sandbox-client", "bad-secret", "admin", "admin"), "client", 'Parameter "client_id"'),
        (("unknown-client", "sandbox-secret", "admin", "admin"), "client", 'Parameter "client_id"'),
        ((*CLIENT, "", "admin"), "missing", 'Parameter "grant_type"'),
        ((*CLIENT, "admin", ""), "missing", 'Parameter "grant_type"'),
    ],
)
def test_token_errors_are_typed_and_keep_akeneo_message(pim, credentials, kind, text):
    base_url, _ = pim

    async def go():
        async with AkeneoClient(base_url, *credentials, allow_private_addresses=True) as akeneo:
            with pytest.raises(AkeneoAuthError) as info:
                await akeneo.check_connection()
            return info.value, akeneo.requests_made

    error, requests = run(go())
    assert error.kind == kind
    assert error.status == 422
    assert text in error.message
    assert requests == 1  # a refused credential is not retried


def test_user_without_permissions_gets_permission_error(pim):
    base_url, state = pim
    state.add_user("viewer", "viewer-pass", permissions="none")

    async def go():
        async with client(base_url, "viewer", "viewer-pass") as akeneo:
            with pytest.raises(AkeneoPermissionError) as info:
                await akeneo.check_connection()
            return info.value

    error = run(go())
    assert error.status == 403
    assert error.message


def test_token_is_refreshed_before_it_expires(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    app = create_app(token_ttl=3)
    with serve(app) as base_url:

        async def go():
            async with client(base_url) as akeneo:
                await akeneo.get_channel("ecommerce")
                await asyncio.sleep(2.5)  # past the renewal point (80 % of 3 s), before expiry
                await akeneo.get_channel("ecommerce")

        run(go())
    grants = [r.grant for r in records(caplog, "akeneo token obtained")]
    assert grants == ["password", "refresh_token"]
    assert not records(caplog, "akeneo token refused, renewing")


def test_a_401_renews_the_token_once(pim, caplog):
    base_url, state = pim
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def go():
        async with client(base_url) as akeneo:
            await akeneo.get_channel("ecommerce")
            state.revoke_tokens()
            channel = await akeneo.get_channel("ecommerce")
            state.advance_clock(3601)  # the access token expires server-side
            try:
                await akeneo.get_channel("ecommerce")
            finally:
                state.advance_clock(-3601)
            return channel

    assert run(go())["code"] == "ecommerce"
    assert len(records(caplog, "akeneo token refused, renewing")) == 2
    grants = [r.grant for r in records(caplog, "akeneo token obtained")]
    assert grants == ["password", "refresh_token", "refresh_token"]


def test_refused_refresh_token_falls_back_to_password(pim, caplog):
    base_url, state = pim
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def go():
        async with client(base_url) as akeneo:
            await akeneo.get_channel("ecommerce")
            state.revoke_tokens()
            state.refresh_tokens.clear()
            return await akeneo.get_channel("ecommerce")

    assert run(go())["code"] == "ecommerce"
    grants = [r.grant for r in records(caplog, "akeneo token obtained")]
    assert grants == ["password", "password"]
    assert len(records(caplog, "akeneo refresh token refused, using the password grant")) == 1


def test_logs_never_carry_secrets_or_tokens(pim, caplog):
    base_url, state = pim
    state.add_user("logcheck", "S3cret-Passw0rd")
    caplog.set_level(logging.DEBUG)
    state.set_faults(error_rate=0.3)

    async def go():
        async with client(base_url, "logcheck", "S3cret-Passw0rd") as akeneo:
            akeneo.max_attempts = 20
            await akeneo.check_connection()
            state.revoke_tokens()
            return [p async for p in akeneo.iter_products(page_size=100)][:1]

    assert run(go())
    tokens = list(state.access_tokens) + list(state.refresh_tokens)
    assert tokens
    dumped = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "akeneo request failed, retrying" in dumped  # the check can see what was logged
    for secret in ["S3cret-Passw0rd", "sandbox-secret", *tokens]:
        assert secret not in dumped


# --- reading -------------------------------------------------------------------------------------


def test_pagination_yields_every_product_and_model_once(pim):
    base_url, _ = pim

    async def go():
        async with client(base_url) as akeneo:
            products = [p["uuid"] async for p in akeneo.iter_products()]
            after_products = akeneo.requests_made
            models = [m["code"] async for m in akeneo.iter_product_models(page_size=50)]
            return products, after_products, models, akeneo.requests_made - after_products

    products, product_requests, models, model_requests = run(go())
    assert len(products) == 1239
    assert len(set(products)) == 1239
    assert product_requests == 1 + 13  # a token, then 13 pages of at most 100
    assert len(models) == 81
    assert len(set(models)) == 81
    assert model_requests == 2


def test_product_search_scope_and_reduction(pim):
    base_url, _ = pim

    async def go():
        async with client(base_url) as akeneo:
            simple = [
                p async for p in akeneo.iter_products(
                    search=search_filter(parent=("EMPTY",)),
                    scope="ecommerce",
                    locales=["en_US"],
                    attributes=["name", "sku"],
                )
            ]
            one = await akeneo.get_product(simple[0]["uuid"])
            return simple, one

    simple, one = run(go())
    assert simple and all(p.get("parent") is None for p in simple)
    assert all(set(p["values"]) <= {"name", "sku"} for p in simple)
    assert all(v["locale"] in (None, "en_US") for p in simple for vs in p["values"].values() for v in vs)
    assert one["uuid"] == simple[0]["uuid"]
    assert len(one["values"]) >= len(simple[0]["values"])


def test_structure_reads(pim):
    base_url, state = pim

    async def go():
        async with client(base_url) as akeneo:
            channels = await akeneo.list_channels()
            locales = await akeneo.list_locales()
            all_locales = await akeneo.list_locales(enabled_only=False)
            attributes = await akeneo.list_attributes()
            families = await akeneo.list_families()
            variants = await akeneo.list_family_variants("clothing")
            select = next(a["code"] for a in attributes if a["type"] == "pim_catalog_simpleselect")
            options = [o async for o in akeneo.iter_attribute_options(select)]
            model = await akeneo.get_product_model(state.catalog.models[0]["code"])
            categories = [c async for c in akeneo.iter_categories()]
            category = await akeneo.get_category("master")
            return channels, locales, all_locales, attributes, families, variants, options, model, categories, category

    channels, locales, all_locales, attributes, families, variants, options, model, categories, category = run(go())
    assert {c["code"] for c in channels} == {"ecommerce", "mobile", "print"}
    assert {"en_US", "fr_FR", "de_DE"} <= {loc["code"] for loc in locales}
    assert all(loc["enabled"] for loc in locales)
    assert len(all_locales) > len(locales)
    assert len(attributes) == 77
    assert len(families) == 17
    assert variants and all(v["variant_attribute_sets"] for v in variants)
    assert options and all("code" in o for o in options)
    assert model["code"] == state.catalog.models[0]["code"]
    assert len(categories) == 168
    assert category["code"] == "master" and category["parent"] is None


def test_typed_errors_on_data_routes(pim):
    base_url, _ = pim

    async def go():
        async with client(base_url) as akeneo:
            with pytest.raises(AkeneoNotFound) as missing:
                await akeneo.get_channel("no_such_channel")
            with pytest.raises(AkeneoValidationError) as invalid:
                await akeneo.get("/api/rest/v1/channels", {"limit": 101})
            return missing.value, invalid.value

    missing, invalid = run(go())
    assert missing.status == 404 and missing.message
    assert invalid.status == 422 and invalid.message


def test_category_picker_is_lazy_and_bounded(pim):
    base_url, state = pim

    async def go():
        async with client(base_url) as akeneo:
            roots, roots_next = await akeneo.list_categories()
            children, _ = await akeneo.list_categories(parent="master", limit=100)
            first, next_url = await akeneo.list_categories(parent="master", limit=2)
            second, _ = await akeneo.list_categories(parent="master", limit=2, page_url=next_url)
            by_codes, _ = await akeneo.list_categories(codes=["master", "print"])
            before = akeneo.requests_made
            exact, _ = await akeneo.list_categories(search="MASTER", limit=5)
            search_requests = akeneo.requests_made - before
            by_label, _ = await akeneo.list_categories(search="audio", limit=50, max_scan_pages=10)
            return roots, roots_next, children, first, second, by_codes, exact, search_requests, by_label

    roots, roots_next, children, first, second, by_codes, exact, search_requests, by_label = run(go())
    assert {c["code"] for c in roots} == {"master", "sales", "print", "suppliers"}
    assert roots_next is None
    assert children and all(c["parent"] == "master" for c in children)
    assert [c["code"] for c in first + second] == [c["code"] for c in children[:4]]
    assert {c["code"] for c in by_codes} == {"master", "print"}
    assert exact[0]["code"] == "master"  # exact code match first, whatever the letter case
    assert search_requests <= 1 + 5
    expected = {
        c["code"]
        for c in state.catalog.categories
        if "audio" in c["code"].lower() or any("audio" in (label or "").lower() for label in c["labels"].values())
    }
    assert expected and {c["code"] for c in by_label} == expected


def test_media_download_streams_the_file(pim):
    base_url, state = pim
    media = sorted(
        (m for m in state.catalog.media.values() if m.exists), key=lambda m: m.path.stat().st_size, reverse=True
    )[0]

    async def go():
        async with client(base_url) as akeneo:
            chunks = [chunk async for chunk in akeneo.download_media(media.code)]
            with pytest.raises(AkeneoNotFound):
                async for _ in akeneo.download_media("0/0/0/0/nothing.jpg"):
                    pass
            return chunks

    chunks = run(go())
    assert len(chunks) > 1  # it arrived as a stream of chunks, not one body
    assert b"".join(chunks) == media.path.read_bytes()


# --- resilience ----------------------------------------------------------------------------------


def test_injected_server_errors_are_retried_and_logged(pim, caplog):
    base_url, state = pim
    caplog.set_level(logging.INFO, logger=LOGGER)
    state.set_faults(error_rate=0.2, statuses=[500, 502, 503])

    async def go():
        async with client(base_url) as akeneo:
            akeneo.max_attempts = 12  # 0.2**12: the run cannot fail by bad luck
            products = [p["uuid"] async for p in akeneo.iter_products(page_size=20)]
            models = [m["code"] async for m in akeneo.iter_product_models(page_size=20)]
            return products, models

    products, models = run(go())
    assert len(set(products)) == 1239 and len(products) == 1239
    assert len(set(models)) == 81 and len(models) == 81
    retries = records(caplog, "akeneo request failed, retrying")
    finished = records(caplog, "akeneo request finished after retries")
    assert retries and {r.reason for r in retries} <= {500, 502, 503}
    assert finished and all(r.attempts >= 2 for r in finished)
    assert sum(r.attempts - 1 for r in finished) == len(retries)


def test_rate_limit_429_honours_retry_after(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    app = create_app(rate_limit=10)
    with serve(app) as base_url:

        async def go():
            async with client(base_url, max_in_flight=10) as akeneo:
                return await asyncio.gather(*(akeneo.get_channel("ecommerce") for _ in range(30)))

        results = run(go())
    assert all(r["code"] == "ecommerce" for r in results)
    limited = [r for r in records(caplog, "akeneo request failed, retrying") if r.reason == 429]
    assert limited
    assert all(r.retry_after and r.delay >= r.retry_after for r in limited)


@pytest.mark.parametrize(("max_in_flight", "limited"), [(4, False), (8, True)])
def test_in_flight_cap_keeps_within_the_concurrency_limit(caplog, max_in_flight, limited):
    caplog.set_level(logging.INFO, logger=LOGGER)
    app = create_app(max_concurrency=4)
    app.state.pim.set_faults(latency=0.05)
    with serve(app) as base_url:

        async def go():
            async with client(base_url, max_in_flight=max_in_flight) as akeneo:
                return await asyncio.gather(*(akeneo.get_channel("ecommerce") for _ in range(20)))

        results = run(go())
    assert len(results) == 20
    rejected = [r for r in records(caplog, "akeneo request failed, retrying") if r.reason == 429]
    # The control (8 in flight) shows the sandbox does answer 429 when the cap is exceeded.
    assert bool(rejected) is limited


def test_slow_pim_is_a_timeout(pim):
    base_url, state = pim
    state.set_faults(latency=1.0)

    async def go():
        async with client(base_url, timeout=0.2, max_attempts=2) as akeneo:
            with pytest.raises(AkeneoUnreachable) as info:
                await akeneo.check_connection()
            return info.value, akeneo.requests_made

    error, requests = run(go())
    assert error.kind == "timeout"
    assert requests == 1 + 2  # the token route is not slowed; the read is tried twice


# --- internal addresses ----------------------------------------------------------------------------


def test_akeneo_client_refuses_internal_addresses_by_default(pim):
    from service.clients.akeneo import AkeneoClient
    from service.clients.akeneo_errors import AkeneoUnreachable

    base, _ = pim  # the sandbox listens on 127.0.0.1: an internal address

    async def connect(**options):
        async with AkeneoClient(base, "sandbox-client", "sandbox-secret", "admin", "admin", max_attempts=1,
                                **options) as client:
            return await client.check_connection()

    with pytest.raises(AkeneoUnreachable) as refused:
        asyncio.run(connect())
    assert refused.value.kind == "private"
    assert asyncio.run(connect(allow_private_addresses=True))["authenticated"]
