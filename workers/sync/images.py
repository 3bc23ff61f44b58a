"""A product's images in the store converge to the plan's media, in the plan's order.

State `img`: [[media code, BigCommerce image id], ...] in the order the store shows them. Images are
known by the PIM's media code (a new file is a new code): never downloaded twice; removed ones
deleted; a new order moves the images (`sort_order`, the first one the thumbnail) without a new
download. An image BigCommerce would not take leaves the product incomplete (`complete` is False), so
the next sync tries it again instead of calling the product done.
"""

from __future__ import annotations

import contextlib
from typing import Any

from service.clients.akeneo_errors import AkeneoError
from service.clients.bigcommerce import BigCommerceClient
from service.clients.bigcommerce_errors import BigCommerceError
from service.store.imports import PageCommit

MEDIA_MARK = "pim-media:"  # placeholder image URL during a build: stable hashes, real URL at send time


def placeholder_url(code: str) -> str:
    return f"{MEDIA_MARK}{code}"


def media_code(url: Any) -> str | None:
    return url[len(MEDIA_MARK):] if isinstance(url, str) and url.startswith(MEDIA_MARK) else None


def issue(item: str, message: str, field_name: str | None = None) -> dict:
    doc = {"item": item, "message": message}
    if field_name:
        doc["field"] = field_name
    return doc


def known_images(state: dict) -> list[list]:
    """The state's images as [[code, id, sort order]] (sort order None when not known)."""
    img = state.get("img") or []
    if isinstance(img, dict):
        return [[code, int(i), None] for code, i in img.items()]
    return [[str(e[0]), int(e[1]), e[2] if len(e) > 2 else None] for e in img]


def images_from_answer(media: list[str], product: dict) -> list[list]:
    """The ids of a just-created product's images, matched to the plan's media by their order."""
    images = sorted(product.get("images") or [], key=lambda i: (i.get("sort_order", 0), i.get("id", 0)))
    return [[code, int(image["id"]), image.get("sort_order")] for code, image in zip(media, images, strict=False)]


class MediaURLs:
    """Real image URLs in place of the build's placeholders, at send time (`image_url`: media code ->
    the URL BigCommerce downloads, None when images are uploaded instead)."""

    def __init__(self, image_url: Any) -> None:
        self.image_url = image_url

    def send_payload(self, payload: dict) -> dict:
        """A create's body with real image URLs (without images when they are uploaded after)."""
        out = dict(payload)
        images = []
        for position, image in enumerate(payload.get("images") or []):
            code = media_code(image.get("image_url"))
            if code is None:
                images.append(image)
                continue
            url = self.image_url(code) if self.image_url is not None else None
            if url is not None and len(url) <= 255:
                images.append({**image, "image_url": url, "sort_order": position})
        if "images" in payload:
            out["images"] = images
        if "variants" in payload:
            out["variants"] = [self.variant_for_send(v) for v in payload["variants"]]
        return out

    def variant_for_send(self, variant: dict) -> dict:
        code = media_code(variant.get("image_url"))
        if code is None:
            return variant
        url = self.image_url(code) if self.image_url is not None else None
        out = dict(variant)
        if url is not None and len(url) <= 255:
            out["image_url"] = url
        else:
            out.pop("image_url", None)
        return out


class ImageSync:
    """Posts, deletes and reorders one product's images (`image_url`: media code -> URL BigCommerce
    downloads, or None to upload `image_bytes`)."""

    def __init__(self, bc: BigCommerceClient, image_url: Any, image_bytes: Any) -> None:
        self.bc, self.image_url, self.image_bytes = bc, image_url, image_bytes

    async def post(self, product_id: int, code: str, position: int, label: str,
                   commit: PageCommit) -> int | None:
        try:
            url = self.image_url(code) if self.image_url is not None else None
            if url is not None and len(url) <= 255:
                image = await self.bc.create_image(product_id, image_url=url, is_thumbnail=position == 0,
                                                   sort_order=position)
            else:
                image = await self.bc.create_image(product_id, file=await self.image_bytes(code),
                                                   is_thumbnail=position == 0, sort_order=position)
            return int(image["id"])
        except (BigCommerceError, AkeneoError) as exc:
            message = getattr(exc, "title", None) or str(exc)
            commit.warnings.append(issue(label, f"Image {code.rsplit('/', 1)[-1]} was not accepted: {message}; "
                                                "check the file in the PIM (tried again on the next sync)",
                                         "images"))
            return None

    async def converge(self, product_id: int, media: list[str], state: dict, label: str,
                       commit: PageCommit) -> bool:
        """Make the store's images the plan's `media`, each at its position (sort order = its index, the
        first the thumbnail); returns whether all of them are there."""
        kept: dict[str, list] = {}
        for code, image_id, sort in known_images(state):
            if code in media and code not in kept:
                kept[code] = [code, image_id, sort]
                continue
            with contextlib.suppress(BigCommerceError):  # already gone: nothing to undo
                await self.bc.delete_image(product_id, image_id)
        complete = True
        placed: list[list] = []
        for position, code in enumerate(media):
            entry = kept.get(code)
            if entry is None:
                image_id = await self.post(product_id, code, position, label, commit)
                if image_id is None:
                    complete = False
                    continue
                entry = [code, image_id, position]
            elif entry[2] != position:  # moved: no new download, only its place (and thumbnail flag)
                with contextlib.suppress(BigCommerceError):
                    await self.bc.update_image(product_id, entry[1], {"sort_order": position,
                                                                      "is_thumbnail": position == 0})
                    entry = [code, entry[1], position]
            placed.append(entry)
        state["img"] = placed
        return complete
