"""What a failed connection test means, in the merchant's words: pure functions from what happened
(the typed client error, the values typed) to `(message, hints)`."""

from __future__ import annotations

import re

from service.clients.akeneo import TOKEN_PATH
from service.clients.akeneo_errors import (
    AkeneoAuthError,
    AkeneoError,
    AkeneoPermissionError,
    AkeneoUnreachable,
)
from service.clients.bigcommerce_errors import (
    BigCommerceAuthError,
    BigCommerceError,
    BigCommerceForbidden,
    BigCommerceNotFound,
    BigCommerceUnreachable,
)

# BigCommerce credential shapes: access tokens and client IDs are 31 lower-case alphanumerics (older
# ones a little shorter or longer), client secrets 64 hex characters.
BC_TOKEN_SHAPE = re.compile(r"^[a-z0-9]{25,40}$")
BC_SECRET_SHAPE = re.compile(r"^[a-f0-9]{64}$")

PIM_CONNECTION_PLACE = "Connect > Connection settings in your PIM"


# --- Akeneo -----------------------------------------------------------------------------------


def _same_values(values: dict[str, str]) -> list[str]:
    """Fields that hold the very same text as another field: a paste into the wrong box."""
    hints = []
    pairs = (("secret", "client_id", "The secret is the same as the client ID: paste the secret into the secret field."),
             ("password", "secret", "The password is the same as the secret: the secret seems to be pasted into "
                                    "the password field."),
             ("password", "client_id", "The password is the same as the client ID: it seems to be pasted into the "
                                       "wrong field."),
             ("username", "client_id", "The username is the same as the client ID: the username is the API user's "
                                       "login (shown with the connection), not the client ID."))
    for a, b, hint in pairs:
        if values.get(a) and values.get(a) == values.get(b):
            hints.append(hint)
    return hints


def pim_failure(exc: AkeneoError, values: dict[str, str], *, swapped_client: bool = False) -> tuple[str, list[str]]:
    """`(message, hints)` for a failed PIM test. `values`: the url, client_id, secret, username and
    password tried; `swapped_client`: the token route accepted the client ID and secret the other way round."""
    url = values.get("url", "")
    token_url = f"{url}{TOKEN_PATH}"
    if isinstance(exc, AkeneoAuthError) and exc.kind == "credentials":
        hints = ["Check the username and password of the connection's API user (shown with the connection in "
                 f"{PIM_CONNECTION_PLACE}); it is not necessarily your own login.",
                 "If the API user's password was renewed in the PIM (Regenerate), paste the new one here.",
                 *_same_values(values)]
        return "The PIM refused the username or password (\u201cNo user found for the given username and "\
               "password\u201d).", hints
    if isinstance(exc, AkeneoAuthError) and exc.kind == "client":
        hints = []
        if swapped_client:
            hints.append("The client ID and the secret are swapped: the PIM accepts them the other way round. "
                         "Exchange the two fields.")
        hints += [f"Copy the client ID and the secret again from {PIM_CONNECTION_PLACE}; a regenerated secret "
                  "replaces the old one.", *_same_values(values)]
        return "The PIM refused the client ID or secret (\u201cParameter \"client_id\" is missing or does not match "\
               "any client, or secret is invalid\u201d).", hints
    if isinstance(exc, AkeneoAuthError) and exc.kind == "missing":
        return f"The PIM says a field is missing or empty: {exc.message}", ["Fill in every field of the form."]
    if isinstance(exc, AkeneoAuthError) and exc.kind == "rejected":
        # A 401 with a token just issued (the client renews once): revoked or expired, not a permission.
        return (f"The credentials are valid, but the PIM refused to let this connection read the catalog "
                f"(HTTP {exc.status or 401}: {exc.message}): it no longer accepts the access token it had just "
                "issued."), [
            "The access token was revoked or expired at once: if the connection's secret or the API user's "
            f"password was regenerated in {PIM_CONNECTION_PLACE} meanwhile, paste the new values and SAVE again.",
            "If this keeps happening, a proxy in front of the PIM may drop the Authorization header, or the PIM "
            "server's clock may be wrong: ask the PIM's administrator."]
    if isinstance(exc, AkeneoPermissionError):
        status = exc.status or 403
        return (f"The credentials are valid, but the PIM refused to let this connection read the catalog "
                f"(HTTP {status}: {exc.message})."), [
            f"In {PIM_CONNECTION_PLACE}, set the connection's flow type to \u201cData destination\u201d.",
            "Give the connection's user group and role the permissions to read the catalog through the API: "
            "the administrator role (or a role with the Web API permissions on channels, locales, categories, "
            "attributes, families and products)."]
    if isinstance(exc, AkeneoUnreachable):
        return _pim_unreachable(exc, url, token_url)
    if isinstance(exc, AkeneoAuthError):
        return f"The PIM refused the credentials: {exc.message}", [
            f"Copy the client ID, secret, username and password again from {PIM_CONNECTION_PLACE}."]
    status = f" (HTTP {exc.status})" if exc.status else ""
    return f"The PIM answered with an error{status}: {exc.message}", [
        "The PIM may be down or under maintenance: try SAVE again in a few minutes."]


def _pim_unreachable(exc: AkeneoUnreachable, url: str, token_url: str) -> tuple[str, list[str]]:
    tried = f"We tried POST {token_url}."
    base_hint = "Use your PIM's base address, e.g. https://mycompany.cloud.akeneo.com, as you open it in the browser."
    if exc.kind == "dns":
        return f"The PIM URL is wrong: its host name could not be found (DNS). {tried}", [
            "Check the spelling of the PIM URL.", base_hint]
    if exc.kind == "refused":
        return f"The PIM URL is wrong: nothing accepts connections there (connection refused). {tried}", [
            "Check the host name and the port of the PIM URL (and http:// versus https://).", base_hint]
    if exc.kind == "tls":
        hint = ("The address starts with https:// but the server does not speak TLS there, or its certificate is "
                "not valid: check http:// versus https:// and the port.")
        return f"The PIM URL is wrong: the secure connection (TLS) failed. {tried}", [hint, base_hint]
    if exc.kind == "timeout":
        return f"The PIM URL is wrong or the PIM is not reachable from the internet: it did not answer in time. {tried}", [
            "Check the PIM URL; a PIM behind a firewall or VPN must accept connections from this connector.", base_hint]
    if exc.kind == "not_akeneo":
        hints = [base_hint]
        redirect = re.search(r"redirected to (\S+)", exc.message)
        if redirect:
            hints.insert(0, f"The address redirects to {redirect.group(1)}: if that is your PIM, use its base address.")
        what = f"{TOKEN_PATH} does not exist there (HTTP 404)" if exc.status == 404 else exc.message
        return f"The PIM URL is wrong: it answers, but not as an Akeneo PIM ({what}). {tried}", hints
    return f"The PIM URL is wrong or the PIM is unreachable ({exc.message}). {tried}", [base_hint]


# --- BigCommerce --------------------------------------------------------------------------------


def bc_shape_hints(client_id: str, access_token: str) -> list[str]:
    """What the shapes of the values suggest when the token was refused."""
    hints = []
    if access_token and access_token == client_id:
        hints.append("The access token is the same as the client ID: the two seem swapped or pasted twice. "
                     "The access token is shown once, when the API account is created.")
    elif BC_SECRET_SHAPE.match(access_token):
        hints.append("This looks like the client secret (64 hexadecimal characters), not the access token "
                     "(about 31 lower-case letters and digits). Paste the access token instead.")
    elif not BC_TOKEN_SHAPE.match(access_token):
        hints.append(f"This does not look like a BigCommerce access token ({len(access_token)} characters; "
                     "access tokens are about 31 lower-case letters and digits).")
    if BC_SECRET_SHAPE.match(client_id) and access_token != client_id:
        hints.append("The client ID looks like a client secret (64 hexadecimal characters): paste the client ID "
                     "instead; the secret is not needed here.")
    return hints


def bc_failure(exc: BigCommerceError, step: str, store_hash: str, client_id: str,
               access_token: str) -> tuple[str, list[str]]:
    """`(message, hints)` for a failed BigCommerce test; `step` is "time", "store", "catalog" or "catalog_write"."""
    create_account = ("Create a store-level API account in Settings > API > Store-level API accounts with the "
                      "scopes Products (modify) and Information & settings (read-only).")
    if isinstance(exc, BigCommerceNotFound):
        return f"BigCommerce does not know the store hash \u201c{store_hash}\u201d (HTTP 404).", [
            "The store hash is the part after /stores/ in the API path shown with your API account "
            "(https://api.bigcommerce.com/stores/<hash>/v3/), or after store- in your control panel's address."]
    if isinstance(exc, BigCommerceAuthError):
        hints = bc_shape_hints(client_id, access_token)
        hints += ["Check the access token and that it belongs to this store; deleting the API account revokes its "
                  "token.", create_account]
        return "BigCommerce refused the access token (HTTP 401).", hints
    if isinstance(exc, BigCommerceForbidden):
        if step == "store":
            return "The access token lacks the Information & settings scope (HTTP 403 on /v2/store).", [
                "Edit the API account and grant Information & settings (read-only), or create a new account.",
                create_account]
        if step == "catalog_write":
            return ("The access token can read products but not change them: it lacks Products (modify) "
                    "(HTTP 403 on a catalog update)."), [
                "Edit the API account and set Products to modify (not read-only): the connector creates and "
                "updates products.", create_account]
        return "The access token lacks the Products scope (HTTP 403 on the catalog).", [
            "Edit the API account and grant Products (modify): the connector creates and updates products.",
            create_account]
    if isinstance(exc, BigCommerceUnreachable):
        return f"BigCommerce could not be reached ({exc.kind}): {exc.message}", [
            "Try again in a few minutes; if it persists, the connector's operator should check BC_API_URL."]
    status = f" (HTTP {exc.status})" if exc.status else ""
    return f"BigCommerce answered with an error{status}: {exc.message}", [
        "BigCommerce may be busy: try SAVE again in a few minutes."]
