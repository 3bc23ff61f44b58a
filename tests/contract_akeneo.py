"""Validate answers against the response schemas of Akeneo's Swagger file, strictly.

The Swagger file is documentation-grade, so its schemas are adapted before use, each rule narrow:
- `allOf` branches are merged into one object schema, and every object that lists properties gets
  `additionalProperties: false`: a key the real API does not document fails (drift towards invented fields);
- placeholder property names (`localeCode`, `attributeCode`, `associationTypeCode`, ...) stand for map keys,
  so such objects become maps (`additionalProperties: <that schema>`);
- scalar properties that are not `required` may be null (Akeneo answers `"parent": null`, `"family": null`);
- a product value's `data` is typed `object` but carries strings, numbers, booleans, lists: any JSON;
- list bodies may carry `items_count` (Akeneo's `with_count=true`, documented in its pagination guide).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SPEC = Path(__file__).resolve().parents[1] / ".." / "shared" / "specs" / "akeneo" / "akeneo-web-api.json"
if not SPEC.exists():
    SPEC = Path("/work/shared/specs/akeneo/akeneo-web-api.json")

_PLACEHOLDER = re.compile(r"^[a-z][A-Za-z]*(Code|Uuid)(\|.*)?$")
_SCALARS = {"string", "integer", "number", "boolean"}


@cache
def _spec() -> dict:
    return json.loads(SPEC.read_text(encoding="utf-8"))


def _resolve(node: Any, spec: dict) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return _resolve(copy.deepcopy(target), spec)
        return {k: _resolve(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, spec) for v in node]
    return node


def _merge_all_of(schema: dict) -> dict:
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    merged.setdefault("properties", {})
    required = list(merged.get("required", []))
    for branch in schema["allOf"]:
        branch = _merge_all_of(branch) if "allOf" in branch else branch
        merged["properties"].update(branch.get("properties", {}))
        required += branch.get("required", [])
        if "type" in branch:
            merged.setdefault("type", branch["type"])
    if required:
        merged["required"] = sorted(set(required))
    return merged


def _strict(schema: Any, *, required: bool = True) -> Any:
    if not isinstance(schema, dict):
        return schema
    schema = {k: v for k, v in schema.items() if not k.startswith("x-") and k not in ("example", "examples",
                                                                                         "default", "format")}
    if "allOf" in schema:
        schema = _merge_all_of(schema)
    props = schema.get("properties")
    if props is not None:
        if props and all(_PLACEHOLDER.match(name) for name in props):
            schema["additionalProperties"] = _strict(next(iter(props.values())))
            del schema["properties"]
        else:
            needed = set(schema.get("required", []))
            schema["properties"] = {
                name: (_any() if name == "data" else _strict(sub, required=name in needed))
                for name, sub in props.items()
            }
            if "additionalProperties" not in schema:
                schema["additionalProperties"] = False
    elif isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = _strict(schema["additionalProperties"])
    if "items" in schema:
        schema["items"] = _strict(schema["items"])
    if not required and schema.get("type") in _SCALARS:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


def _any() -> dict:
    return {}


@cache
def _schema(path: str, method: str, status: int) -> str:
    spec = _spec()
    operation = spec["paths"][path][method.lower()]
    response = _resolve(operation["responses"][str(status)], spec)
    schema = _strict(response["schema"])
    if "_embedded" in schema.get("properties", {}):
        schema["properties"]["items_count"] = {"type": "integer"}
    return json.dumps(schema)


def response_schema(path: str, method: str, status: int) -> dict:
    """The adapted JSON schema of one documented answer (`path` as written in the Swagger file)."""
    return json.loads(_schema(path, method, status))


def validate_response(path: str, method: str, status: int, body: Any) -> None:
    """Raise `jsonschema.ValidationError` when `body` does not match the documented answer."""
    jsonschema.validate(body, response_schema(path, method, status), cls=jsonschema.Draft4Validator)
