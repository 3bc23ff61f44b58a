"""A revoked or expired PIM token (HTTP 401) is explained as such, never with the flow type and the role that
explain a 403 (issue 8): in the hint rules and through the configuration route."""

from __future__ import annotations

from tests.servers import serve

PIM_VALUES = {"url": "https://pim.example.com", "client_id": "client", "secret": "secret", "username": "api",
              "password": "pass"}


def test_a_revoked_token_is_not_explained_with_flow_type_and_role():
    from service.clients.akeneo_errors import AkeneoAuthError, AkeneoPermissionError
    from service.config.hints import pim_failure

    for text in ("The access token provided is invalid.", "The access token provided has expired."):
        message, hints = pim_failure(AkeneoAuthError(text, "rejected", 401), PIM_VALUES)
        said = " ".join([message, *hints]).lower()
        assert "flow type" not in said and "role" not in said and "permission" not in said
        assert "HTTP 401" in message and "revoked" in said and "regenerated" in said
    # A 403 is a permission: there the flow type and the role are the answer.
    _, hints = pim_failure(AkeneoPermissionError("Access forbidden.", 403), PIM_VALUES)
    assert any("flow type" in h for h in hints) and any("role" in h for h in hints)


def test_a_token_refused_on_the_read_through_the_route(tmp_path, redis_url, redis_conn):
    from tests.config_env import client_of, pim_sandbox, running_connector

    expiring = pim_sandbox()
    expiring.state.pim.token_ttl = 0  # every token is expired when used: 401 on every read, even after renewal
    with serve(expiring) as pim_url, running_connector(tmp_path, redis_url, "http://127.0.0.1:9") as service, \
            client_of(service) as client:
        body = client.put("/api/config/pim", client.pim_body(pim_url)).json()
    assert body["connected"] is False and "(HTTP 401" in body["message"], body
    assert not [h for h in body["hints"] if "flow type" in h or "role" in h], body["hints"]
