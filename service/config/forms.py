"""Reading the configuration forms: strict types, per-field errors, pasted values cleaned up.

Each `read_*` function takes the decoded JSON body and returns `(values, errors, notes)`: `errors` maps a
field to what is wrong with it (empty when the body is usable), `notes` says what was cleaned
(surrounding spaces stripped, a store hash cut out of a URL) so the answer can tell the merchant.
`FieldsInvalid` is how the configuration refuses such errors: 422 `invalid` with `fields`, nothing stored.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from service.refusal import Refusal

FieldErrors = dict[str, str]

STORE_HASH = re.compile(r"^[a-z0-9]{1,32}$")
_STORES_PATH = re.compile(r"(?:^|/)stores/([A-Za-z0-9]+)(?:/|$)")
_CONTROL_PANEL = re.compile(r"^store-([A-Za-z0-9]+)\.mybigcommerce\.com$", re.IGNORECASE)
# Paths people paste after the PIM's base address: its login page, the API itself, a UI route.
_PIM_SUFFIXES = re.compile(r"(/user/login.*|/api/(rest|oauth)/.*|/api/?|/#.*|/index\.php.*)$", re.IGNORECASE)

# What may go into an HTTP header as a token: visible ASCII, no spaces (BigCommerce's X-Auth-Token).
HEADER_TOKEN = re.compile(r"^[\x21-\x7e]+$")

FIELD_LABELS = {
    "url": "PIM URL", "client_id": "client ID", "secret": "secret", "username": "username",
    "password": "password", "store_hash": "store hash", "access_token": "access token",
}


class FieldsInvalid(Refusal):
    """422 `invalid` with `fields` (each bad field and why); nothing was stored. The message says them all,
    unless one is given."""

    def __init__(self, fields: FieldErrors, message: str | None = None) -> None:
        summary = message or "Some fields are not valid: " + "; ".join(f"{k} {v}" for k, v in fields.items())
        super().__init__(422, "invalid", summary, fields=fields)
        self.fields = fields


def text_problem(value: str) -> str | None:
    """Why a (stripped) text cannot be used, or None: lone surrogates cannot be stored, sent or shown,
    control characters (line breaks, tabs, NUL…) inside a value are a paste gone wrong. Never quotes it."""
    for char in value:
        if "\ud800" <= char <= "\udfff":
            return "contains characters that are not valid text (lone surrogates): type or paste it again"
        if unicodedata.category(char) == "Cc":
            return "contains a control character (a line break, tab or similar) inside it: paste it again"
    return None


def code_problem(value: str) -> str | None:
    """Why a PIM code cannot be looked up, or None: "." and ".." would walk the PIM's API paths."""
    if value.strip(".") == "":
        return "is not a code of this PIM"
    return None


def _text(body: dict[str, Any], name: str, errors: FieldErrors, stripped: list[str], *,
          required: bool = True, max_length: int = 2000) -> str:
    """A string field: wrong type, unusable characters or (when required) missing/empty is an error;
    spaces around are cut."""
    if name not in body or body[name] is None:
        if required:
            errors[name] = "is required"
        return ""
    value = body[name]
    if not isinstance(value, str):
        errors[name] = "must be a string"
        return ""
    if len(value) > max_length:
        errors[name] = f"is too long (at most {max_length} characters)"
        return ""
    clean = value.strip()
    if problem := text_problem(clean):
        errors[name] = problem
        return ""
    if clean != value and clean:
        stripped.append(name)
    if required and not clean:
        errors[name] = "must not be empty"
    return clean


def _confirm(body: dict[str, Any], errors: FieldErrors) -> bool:
    value = body.get("confirm", False)
    if value is None:
        return False
    if not isinstance(value, bool):
        errors["confirm"] = "must be true or false"
        return False
    return value


def stripped_note(fields: list[str]) -> str | None:
    if not fields:
        return None
    names = ", ".join(FIELD_LABELS.get(f, f) for f in fields)
    return f"We removed spaces before or after the {names}: copying from a page often adds them."


def clean_pim_url(value: str) -> tuple[str | None, str | None, str | None]:
    """`(base_url, error, note)`: the PIM's base URL (lower-case scheme and host, no trailing slash,
    login page or API paths cut off), or an error for anything that is not an http(s) URL."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None, "is not a valid URL", None
    if parts.scheme.lower() not in ("http", "https"):
        return None, "must start with https:// (or http://)", None
    if not parts.hostname or " " in value:
        return None, "is not a valid URL (no host name)", None
    if problem := host_problem(value, parts.hostname):
        return None, problem, None
    if parts.username is not None or parts.password is not None:
        # A password in the address would be stored and shown as the PIM URL: never.
        return None, "must not contain a user name or password (user:password@): fill in the fields below", None
    path = parts.path.rstrip("/")
    note = None
    cut = _PIM_SUFFIXES.sub("", path + ("/#" + parts.fragment if parts.fragment else ""))
    if cut != path or parts.query or parts.fragment:
        note = (f"We kept only the PIM's base address ({parts.scheme.lower()}://{parts.netloc.lower()}"
                f"{cut.rstrip('/')}): the connector adds the API paths itself.")
    base = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), cut.rstrip("/"), "", ""))
    return base, None, note


def host_problem(url: str, host: str) -> str | None:
    """Why an HTTP client (httpx) or the resolver (IDNA) would refuse this URL's host, or None."""
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError):  # ValueError: idna.IDNAError, UnicodeError
        return "is not a valid URL (the host name is not valid)"
    if host.startswith("[") or ":" in host:  # an IPv6 address, checked by httpx above
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return "is not a valid URL (the host name is not valid)"
    labels = ascii_host.rstrip(".").split(".")
    if len(ascii_host) > 253 or any(not 1 <= len(label) <= 63 for label in labels):
        return "is not a valid URL (the host name is not valid)"
    return None


def parse_store_hash(value: str) -> tuple[str | None, str | None]:
    """`(hash, note)` from a bare hash, `stores/abc123`, an API URL or a control-panel URL; hash is
    None when nothing usable is in there."""
    text = value.strip()
    found: str | None = None
    if "://" in text or "." in text.split("/")[0]:
        try:
            parts = urlsplit(text if "://" in text else "https://" + text)
            hostname = parts.hostname or ""
        except ValueError:  # "https://[::1/stores/abc": not a URL at all
            return None, None
        control_panel = _CONTROL_PANEL.match(hostname)
        match = control_panel or _STORES_PATH.search(parts.path)
        found = match.group(1) if match else None
    elif "/" in text:
        match = _STORES_PATH.search(text)
        found = match.group(1) if match else None
    else:
        found = text
    if found is None:
        return None, None
    found_lower = found.lower()
    if not STORE_HASH.match(found_lower):
        return None, None
    note = None
    if found_lower != text:
        note = f"We kept just the store hash ({found_lower}) from what you pasted."
    return found_lower, note


def retype_errors(values: dict[str, Any], names: tuple[str, ...], kept: Any, changed: list[str],
                  identity: tuple[str, ...]) -> FieldErrors:
    """Errors for secret fields left empty that no stored secret may fill: "is required" when nothing is
    stored, else "must be typed again" naming what changed (a stored secret is used only with the identity
    it was saved with, so a changed address never receives it)."""
    errors: FieldErrors = {}
    for name in names:
        if values.get(name) or name in kept:
            continue
        if not changed:
            errors[name] = "is required"
            continue
        what = " and ".join(FIELD_LABELS.get(f, f) for f in changed)
        saved_with = ", ".join(FIELD_LABELS.get(f, f) for f in identity[:-1]) + " and " + FIELD_LABELS.get(
            identity[-1], identity[-1])
        errors[name] = (f"must be typed again: the {what} changed, and a stored {FIELD_LABELS.get(name, name)} is "
                        f"only used with the {saved_with} it was saved with")
    return errors


def read_pim(body: dict[str, Any], *, have_secret: bool, have_password: bool) -> tuple[dict, FieldErrors, list[str]]:
    errors: FieldErrors = {}
    stripped: list[str] = []
    notes: list[str] = []
    raw_url = _text(body, "url", errors, stripped)
    values = {
        "client_id": _text(body, "client_id", errors, stripped, max_length=500),
        "username": _text(body, "username", errors, stripped, max_length=500),
        "secret": _text(body, "secret", errors, stripped, required=False, max_length=500),
        "password": _text(body, "password", errors, stripped, required=False, max_length=500),
        "confirm": _confirm(body, errors),
    }
    # An empty secret or password field keeps the stored one (the form never shows them again).
    for name, have in (("secret", have_secret), ("password", have_password)):
        if not values[name] and not have and name not in errors:
            errors[name] = "is required"
    if raw_url and "url" not in errors:
        url, problem, note = clean_pim_url(raw_url)
        if problem:
            errors["url"] = problem
        else:
            values["url"] = url
            if note:
                notes.append(note)
    if note := stripped_note(stripped):
        notes.insert(0, note)
    values["stripped"] = stripped
    return values, errors, notes


def read_bigcommerce(body: dict[str, Any], *, have_token: bool) -> tuple[dict, FieldErrors, list[str]]:
    errors: FieldErrors = {}
    stripped: list[str] = []
    notes: list[str] = []
    raw_hash = _text(body, "store_hash", errors, stripped, max_length=500)
    values = {
        "client_id": _text(body, "client_id", errors, stripped, max_length=500),
        "access_token": _text(body, "access_token", errors, stripped, required=False, max_length=500),
        "confirm": _confirm(body, errors),
    }
    if not values["access_token"] and not have_token and "access_token" not in errors:
        errors["access_token"] = "is required"
    elif values["access_token"] and not HEADER_TOKEN.match(values["access_token"]):
        # It travels in a header: accented letters or spaces would never work (and cannot even be sent).
        errors["access_token"] = ("is not an access token: it may only contain letters, digits and punctuation "
                                  "without spaces or accents (access tokens are about 31 lower-case letters and "
                                  "digits)")
    if raw_hash and "store_hash" not in errors:
        store_hash, note = parse_store_hash(raw_hash)
        if store_hash is None:
            errors["store_hash"] = ("is not a store hash: paste the part after /stores/ in your API path "
                                    "(e.g. abc123), the API path itself or your control panel's address")
        else:
            values["store_hash"] = store_hash
            if note:
                notes.append(note)
    if note := stripped_note(stripped):
        notes.insert(0, note)
    values["stripped"] = stripped
    return values, errors, notes


def read_main(body: dict[str, Any]) -> tuple[dict, FieldErrors]:
    errors: FieldErrors = {}
    stripped: list[str] = []
    values = {name: _text(body, name, errors, stripped, max_length=255) for name in ("locale", "channel", "category")}
    for name in ("locale", "channel", "category"):
        if values[name] and (problem := code_problem(values[name])):
            errors[name] = problem
    values["confirm"] = _confirm(body, errors)
    return values, errors


def read_events(body: dict[str, Any]) -> tuple[dict, FieldErrors]:
    errors: FieldErrors = {}
    stripped: list[str] = []
    secret = _text(body, "secret", errors, stripped, max_length=500)
    if secret and len(secret) < 8:
        errors["secret"] = "is too short (at least 8 characters)"
    return {"secret": secret}, errors
