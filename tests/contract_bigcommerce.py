"""Validate bodies against BigCommerce's official OpenAPI 3.0 specs (the YAMLs in the shared specs folder).

OpenAPI 3.0 schemas are close to JSON Schema draft 4; the differences handled here: `nullable: true` (and the
older `x-nullable: true` some of these files still use) becomes a `null` type, and in request bodies properties marked `readOnly` (or named in `relax`) are not required."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import jsonschema
import yaml

SPEC_DIR = Path(os.environ.get("BC_SPECS_DIR", Path(__file__).resolve().parents[2] / "shared/specs/bigcommerce"))
if not SPEC_DIR.is_dir():
    SPEC_DIR = Path("/work/shared/specs/bigcommerce")

SKIP_KEYS = {"example", "examples", "x-examples", "description"}


def _convert(node, request: bool, relax: frozenset[str]):
    if isinstance(node, list):
        return [_convert(x, request, relax) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v, request, relax) for k, v in node.items() if k not in SKIP_KEYS and k != "nullable"}
    if node.get("nullable") is True or node.get("x-nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if request and isinstance(out.get("required"), list) and all(isinstance(x, str) for x in out["required"]):
        props = node.get("properties", {}) if isinstance(node.get("properties"), dict) else {}
        keep = [name for name in out["required"]
                if name not in relax and not (isinstance(props.get(name), dict) and props[name].get("readOnly"))]
        if keep:
            out["required"] = keep
        else:
            del out["required"]
    return out


@functools.cache
def _raw(spec: str) -> dict:
    with open(SPEC_DIR / spec, encoding="utf-8") as f:
        return yaml.safe_load(f)


@functools.cache
def _doc(spec: str, request: bool, relax: frozenset[str]) -> dict:
    return _convert(_raw(spec), request, relax)


def _resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        node = functools.reduce(lambda n, part: n[part], node["$ref"].lstrip("#/").split("/"), doc)
    return node


def _validate(doc: dict, schema: dict, body) -> None:
    root = {"allOf": [schema], "components": doc["components"]}
    jsonschema.Draft4Validator(root).validate(body)


def request_schema(spec: str, path: str, method: str, relax: tuple[str, ...] = ()) -> tuple[dict, dict]:
    doc = _doc(spec, True, frozenset(relax))
    op = doc["paths"][path][method.lower()]
    body = _resolve(doc, op["requestBody"])
    return doc, body["content"]["application/json"]["schema"]


def validate_request(spec: str, path: str, method: str, body, relax: tuple[str, ...] = ()) -> None:
    """Raise jsonschema.ValidationError when `body` is not a valid request body for the operation."""
    doc, schema = request_schema(spec, path, method, relax)
    _validate(doc, schema, body)


def validate_response(spec: str, path: str, method: str, status: int, body) -> None:
    """Raise when `body` does not match the documented response for `status` (KeyError: status undocumented;
    a documented status without a JSON schema accepts any body)."""
    doc = _doc(spec, False, frozenset())
    op = doc["paths"][path][method.lower()]
    response = _resolve(doc, op["responses"][str(status)])
    content = response.get("content", {})
    media = content.get("application/json") or next(iter(content.values()), None)
    if media is None or "schema" not in media:
        return
    _validate(doc, media["schema"], body)


def validate_schema(spec: str, name: str, body, request: bool = False) -> None:
    """Validate against a named component schema."""
    doc = _doc(spec, request, frozenset())
    _validate(doc, {"$ref": f"#/components/schemas/{name}"}, body)
