"""Settings: every environment variable of the public interface, read and validated once at start."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger("connector.settings")
EVENT_PLATFORM_URL = "https://event.prd.sdk.akeneo.cloud/api/v1"  # Akeneo's production management API


class SettingsError(Exception):
    """A bad setting: names the variable and the problem, in one line."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


@dataclass(frozen=True)
class Knob:
    """A tuning variable of the workers: its name, unit, bounds, default and why that default."""

    env: str
    kind: type
    default: float
    minimum: float
    maximum: float
    unit: str
    why: str


# The workers' tuning (CONNECTOR_*): validated with the rest at start, documented in the README's table.
KNOBS: dict[str, Knob] = {k.env: k for k in (
    Knob("CONNECTOR_IMPORT_PAGE_SIZE", int, 100, 1, 100, "PIM items",
         "items per import page job; Akeneo lists at most 100 a page"),
    Knob("CONNECTOR_DELTA_MARGIN", float, 300, 0, 86400, "seconds",
         "a delta reads from the last run's start minus this: clocks and PIM saves in flight at that start"),
    Knob("CONNECTOR_IMPORT_PAGE_TIMEOUT", int, 900, 60, 7200, "seconds",
         "RQ's bound on one page job (a page of 100 with images takes seconds; a stuck one is killed)"),
    Knob("CONNECTOR_IMPORT_LEASE_TTL", float, 60, 1, 3600, "seconds",
         "the import lease of a page job, renewed every third: a dead worker's page is taken over after it"),
    Knob("CONNECTOR_IMPORT_MAX_ATTEMPTS", int, 8, 1, 100, "tries",
         "tries of one failing page (backoff from the retry base) before the run fails"),
    Knob("CONNECTOR_IMPORT_RETRY_BASE", float, 5, 0.1, 3600, "seconds",
         "the first wait before a failed page is tried again (doubling, with jitter)"),
    Knob("CONNECTOR_IMPORT_LONG_AFTER", float, 30, 0, 86400, "seconds",
         "page work after which a run's pages yield to shorter imports (queue imports-long)"),
    Knob("CONNECTOR_BC_TIMEOUT", float, 30, 1, 600, "seconds",
         "before a BigCommerce answer counts as lost (a lost create is then looked up by SKU)"),
    Knob("CONNECTOR_EVENTS_JOB_BUDGET", float, 480, 10, 3600, "seconds",
         "an events job hands over to a fresh one after this (RQ bounds every job)"),
    Knob("CONNECTOR_EVENTS_LINGER", float, 0.75, 0, 10, "seconds",
         "a small batch of changes may wait this long to share a batch write when the store's quota runs low"),
    Knob("CONNECTOR_EVENTS_LEASE_TTL", float, 60, 1, 3600, "seconds",
         "the events job's lease per tenant, renewed every third: a dead job's tenant is taken over after it"),
)}


def knob(env_name: str, env: Mapping[str, str] | None = None) -> float:
    """One tuning variable's value (its default when unset); SettingsError when out of its bounds."""
    spec = KNOBS[env_name]
    raw = (os.environ if env is None else env).get(env_name, "").strip()
    if not raw:
        return spec.kind(spec.default)
    try:
        value = spec.kind(float(raw)) if spec.kind is int and float(raw).is_integer() else spec.kind(raw)
    except ValueError:
        kind = "a whole number" if spec.kind is int else "a number"
        raise SettingsError(env_name, f"must be {kind} of {spec.unit} (got {raw!r})") from None
    if not spec.minimum <= value <= spec.maximum:
        raise SettingsError(env_name, f"must be between {spec.minimum:g} and {spec.maximum:g} {spec.unit} "
                                      f"(got {raw})")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    secret_key: str
    secret_key_fallbacks: tuple[str, ...] = ()
    redis_url: str | None = None
    port: int = 8000
    app_url: str = "http://127.0.0.1:8000"
    bc_client_id: str | None = None
    bc_client_secret: str | None = field(default=None, repr=False)
    bc_api_url: str = "https://api.bigcommerce.com"
    bc_login_url: str = "https://login.bigcommerce.com"
    pim_urls: tuple[str, ...] = ()
    pim_session_cookie: str = "BAPID"
    event_platform_url: str = "https://event.prd.sdk.akeneo.cloud/api/v1"  # EVENT_PLATFORM_URL
    allow_private_urls: bool = False
    session_ttl: int = 8 * 3600
    log_level: str = "INFO"

    def __repr__(self) -> str:  # never print the keys
        return f"Settings(data_dir={self.data_dir!s}, redis_url={self.redis_url!r}, app_url={self.app_url!r})"

    @property
    def https(self) -> bool:
        return self.app_url.startswith("https://")

    @property
    def bc_app_configured(self) -> bool:
        return bool(self.bc_client_id and self.bc_client_secret)


def normalise_url(value: str) -> str:
    """Lower-case scheme and host, no trailing slash: how base URLs are compared."""
    parts = urlsplit(value.strip())
    path = parts.path.rstrip("/")
    netloc = parts.netloc.lower()
    return f"{parts.scheme.lower()}://{netloc}{path}"


def _http_url(name: str, value: str) -> str:
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise SettingsError(name, f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise SettingsError(name, f"must start with http:// or https:// (got {value!r})")
    if not parts.hostname:
        raise SettingsError(name, f"has no host name (got {value!r})")
    return normalise_url(value)


def _redis_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise SettingsError("REDIS_URL", f"must be a redis://, rediss:// or unix:// URL (got scheme {parts.scheme!r})")
    try:
        parts.port  # noqa: B018
    except ValueError as exc:
        raise SettingsError("REDIS_URL", f"not a valid URL ({exc})") from None
    if parts.scheme != "unix" and not parts.hostname:
        raise SettingsError("REDIS_URL", "has no host name")
    return value.strip()


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(name, f"must be true or false (got {value!r})")


def _int(name: str, value: str, minimum: int, maximum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(name, f"must be a whole number (got {value!r})") from None
    if not minimum <= number <= maximum:
        raise SettingsError(name, f"must be between {minimum} and {maximum} (got {number})")
    return number


def _secret_key(env: Mapping[str, str], data_dir: Path) -> str:
    key = env.get("SECRET_KEY", "").strip()
    if key:
        if len(key) < 16:
            raise SettingsError("SECRET_KEY", "is too short: use at least 16 characters (32 random bytes is best)")
        return key
    path = data_dir / "secret_key"
    try:
        if path.exists():
            return path.read_text().strip()
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # Create with 0600 so the generated key is readable by this user only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
    except FileExistsError:
        return path.read_text().strip()
    except OSError as exc:
        raise SettingsError("DATA_DIR", f"cannot keep the generated secret key there ({exc.strerror})") from None
    log.warning("SECRET_KEY is not set: generated one into %s; set SECRET_KEY in production", path)
    return key


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from the environment; raise SettingsError naming the first bad one."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("DATA_DIR", "").strip() or "./var").resolve()
    port = _int("PORT", env.get("PORT", "8000").strip() or "8000", 1, 65535)
    app_url = _http_url("APP_URL", env["APP_URL"]) if env.get("APP_URL", "").strip() else f"http://127.0.0.1:{port}"
    redis_url = _redis_url(env["REDIS_URL"]) if env.get("REDIS_URL", "").strip() else None
    pim_urls = tuple(
        _http_url("PIM_URLS", item) for item in env.get("PIM_URLS", "").split(",") if item.strip()
    )
    cookie = env.get("PIM_SESSION_COOKIE", "").strip() or "BAPID"
    if not cookie.replace("_", "").replace("-", "").isalnum():
        raise SettingsError("PIM_SESSION_COOKIE", f"is not a valid cookie name (got {cookie!r})")
    bc_client_id = env.get("BC_CLIENT_ID", "").strip() or None
    bc_client_secret = env.get("BC_CLIENT_SECRET", "").strip() or None
    if bool(bc_client_id) != bool(bc_client_secret):
        missing = "BC_CLIENT_SECRET" if bc_client_id else "BC_CLIENT_ID"
        raise SettingsError(missing, "is unset while its partner is set: set both or neither")
    level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError("LOG_LEVEL", f"must be DEBUG, INFO, WARNING or ERROR (got {level!r})")
    fallbacks = tuple(k.strip() for k in env.get("SECRET_KEY_FALLBACKS", "").split(",") if k.strip())
    for name in KNOBS:  # the workers read them where they are used (`knob`): checked here, once, at start
        knob(name, env)
    return Settings(
        data_dir=data_dir,
        secret_key=_secret_key(env, data_dir),
        secret_key_fallbacks=fallbacks,
        redis_url=redis_url,
        port=port,
        app_url=app_url,
        bc_client_id=bc_client_id,
        bc_client_secret=bc_client_secret,
        bc_api_url=_http_url("BC_API_URL", env.get("BC_API_URL", "") or "https://api.bigcommerce.com"),
        bc_login_url=_http_url("BC_LOGIN_URL", env.get("BC_LOGIN_URL", "") or "https://login.bigcommerce.com"),
        pim_urls=pim_urls,
        pim_session_cookie=cookie,
        event_platform_url=_http_url("EVENT_PLATFORM_URL", env.get("EVENT_PLATFORM_URL", "") or EVENT_PLATFORM_URL),
        allow_private_urls=_bool("ALLOW_PRIVATE_URLS", env.get("ALLOW_PRIVATE_URLS", "false")),
        session_ttl=_int("SESSION_TTL", env.get("SESSION_TTL", "").strip() or str(8 * 3600), 60, 30 * 24 * 3600),
        log_level=level,
    )
