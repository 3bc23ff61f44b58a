"""Image intake: BigCommerce downloads `image_url` during the request and keeps only real images."""

from __future__ import annotations

import functools
import hashlib
import ssl

import certifi
import httpx

from .errors import ApiError

MAX_IMAGE_BYTES = 8 * 1024 * 1024
DOWNLOAD_TIMEOUT = 15.0


def sniff(data: bytes) -> str | None:
    """The image type from its magic bytes, or None when it is not an image BigCommerce takes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@functools.lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """One TLS context for every download (building one per image cost most of the sandbox's CPU)."""
    return ssl.create_default_context(cafile=certifi.where())


_BLOBS: dict[str, bytes] = {}


def shared_bytes(data: bytes) -> bytes:
    """Identical images kept once in memory (a catalog reusing pictures must not cost a copy per product)."""
    return _BLOBS.setdefault(hashlib.sha256(data).hexdigest(), data)


def bad_image(url: str, reason: str) -> ApiError:
    return ApiError(400, f"Image '{url}' could not be downloaded or is not a valid image",
                    {"invalid_reason": f"Image could not be downloaded: {reason}"})


async def download(url: str) -> tuple[str, bytes]:
    if not url.startswith(("http://", "https://")):
        raise bad_image(url, "the URL is not an http(s) URL")
    try:
        async with httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True, verify=_tls()) as client, \
                client.stream("GET", url) as response:
            if response.status_code != 200:
                raise bad_image(url, f"the server answered HTTP {response.status_code}")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > MAX_IMAGE_BYTES:
                    raise bad_image(url, "the image is larger than 8 MB")
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # a malformed URL is not an HTTPError
        raise bad_image(url, f"{type(exc).__name__}") from None
    kind = sniff(bytes(data))
    if kind is None:
        raise bad_image(url, "the file is not a JPEG, PNG, GIF or WEBP image")
    return kind, shared_bytes(bytes(data))


def check_upload(data: bytes, filename: str) -> str:
    if len(data) > MAX_IMAGE_BYTES:
        raise ApiError(413, "The image is larger than 8 MB", {"image_file": "File size exceeds 8 MB"})
    kind = sniff(data)
    if kind is None:
        raise ApiError(400, f"Image '{filename}' is not a valid image",
                       {"invalid_reason": "The file is not a JPEG, PNG, GIF or WEBP image"})
    return kind
