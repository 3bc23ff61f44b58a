"""The JSON shapes of /openapi.json (`components.schemas`), as interface.md and docs/interface-additions.md
fix them. Handlers' docstrings refer to them by name (`$ref: '#/components/schemas/Run'`); extra keys are
allowed (the interface may be extended), missing or mistyped ones are not. tests/web/test_openapi_fuzz.py runs
schemathesis against the document, so a handler answering outside its shape fails there."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_TIME = {"type": "number", "nullable": True}  # epoch seconds, null before it happened
_STRINGS = {"type": "array", "items": _STR}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ISSUE = _object({"item": _STR, "message": _STR}, {"field": {"type": "string", "nullable": True}})
_COUNTS = _object({k: _INT for k in ("created", "updated", "unchanged", "hidden", "deleted", "failed")})
_CONNECTION_ATTEMPT = {"type": "object", "nullable": True, "required": ["connected", "message", "hints"],
                       "properties": {"connected": _BOOL, "message": _STR, "hints": _STRINGS, "tested_at": _TIME}}
_SCHEDULE = _object({"every": {"type": "string", "enum": ["off", "hourly", "daily"]}, "at": _STR})

COMPONENTS: dict[str, Any] = {
    "Error": _object({"error": _STR, "message": _STR},
                     {"request_id": _STR, "fields": {"type": "object", "additionalProperties": _STR}}),
    "Health": _object({"status": _STR}),
    "Ready": _object({"status": {"type": "string", "enum": ["ok", "unavailable"]}, "redis": _STR}),
    "Session": _object({"tenant": _STR, "user": {"type": "object"},
                        "via": {"type": "string", "enum": ["bigcommerce", "pim"]}, "csrf_token": _STR}),
    "PimConnection": _object({"url": _STR, "client_id": _STR, "username": _STR, "secret_set": _BOOL,
                              "password_set": _BOOL, "connected": _BOOL, "message": _STR, "hints": _STRINGS,
                              "tested_at": _TIME, "last_attempt": _CONNECTION_ATTEMPT, "previous_in_use": _BOOL}),
    "BigCommerceConnection": _object({"store_hash": _STR, "client_id": _STR, "token_set": _BOOL,
                                      "installed_as_app": _BOOL, "connected": _BOOL, "message": _STR,
                                      "hints": _STRINGS, "store": {"type": "object"}, "tested_at": _TIME,
                                      "last_attempt": _CONNECTION_ATTEMPT, "previous_in_use": _BOOL}),
    "Main": _object({k: {"type": "string", "nullable": True} for k in ("locale", "channel", "category",
                                                                      "category_tree")} | {"saved_at": _TIME}),
    "ManualEvents": _object({"webhook_url": _STR, "secret_set": _BOOL}),
    "Config": _object({"pim": _ref("PimConnection"), "bigcommerce": _ref("BigCommerceConnection"),
                       "main": _ref("Main"), "events": _ref("ManualEvents"), "first_import_done": _BOOL},
                      {"next_import": {"type": "string", "nullable": True},
                       "changes": {"type": "array", "items": {"type": "object"}}}),
    "PimTest": _object({"connected": _BOOL, "message": _STR, "hints": _STRINGS, "previous_in_use": _BOOL,
                        "pim": _ref("PimConnection")}),
    "BigCommerceTest": _object({"connected": _BOOL, "message": _STR, "hints": _STRINGS, "previous_in_use": _BOOL,
                                "bigcommerce": _ref("BigCommerceConnection")}),
    "MainSaved": _object({"saved": _BOOL, "main": _ref("Main"), "changed": _STRINGS}),
    "ManualEventsSaved": _object({"saved": _BOOL, "events": _ref("ManualEvents")}),
    "Choices": _object({"items": {"type": "array", "items": _object({"code": _STR, "label": _STR})},
                        "next": {"type": "string", "nullable": True}}),
    "MappingDocument": _object({
        "version": _INT, "locale": {"type": "string", "nullable": True},
        "fields": {"type": "array", "items": _object({
            "field": _STR, "label": _STR, "level": _STR, "help": _STR, "accepts": _STRINGS, "multiple": _BOOL,
            "max_items": {"type": "integer", "nullable": True}, "value": {},
            "suggested": {},
            "attributes": {"type": "array", "items": _object({"code": _STR, "label": _STR, "type": _STR})}})},
        "families": {"type": "object"}, "suggested_families": {"type": "object"},
        "family_list": {"type": "array", "items": _object({"code": _STR, "label": _STR})}},
        {"saved": _BOOL, "connections": {"type": "object"}}),
    "MappingSaved": _object({"saved": _BOOL, "version": _INT, "changed": {}, "mapping": _ref("MappingDocument")}),
    "Preview": _object({"sku": {"type": "string", "nullable": True}, "payload": {"type": "object", "nullable": True},
                        "warnings": {"type": "array", "items": _ISSUE}, "errors": {"type": "array", "items": _ISSUE},
                        "notes": _STRINGS},
                       {"key": _STR, "content_hash": {"type": "string", "nullable": True}, "media": _STRINGS,
                        "mapping_version": _INT}),
    "ImportStarted": _object({"id": _STR}),
    "Run": _object({
        "id": _STR, "mode": {"type": "string", "enum": ["full", "delta"]},
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "partial", "failed"]},
        "created_at": _TIME, "started_at": _TIME, "finished_at": _TIME,
        "progress": _object({"done": _INT, "total": _INT}),
        "counts": _object({"categories": _COUNTS, "products": _COUNTS}),
        "errors": {"type": "array", "items": _ISSUE}, "warnings": {"type": "array", "items": _ISSUE}},
        {"trigger": {"type": "string", "enum": ["manual", "schedule"]}, "message": {"type": "string", "nullable": True},
         "errors_total": _INT, "warnings_total": _INT, "mapping_version": {"type": "integer", "nullable": True}}),
    "Runs": _object({"items": {"type": "array", "items": _ref("Run")}}),
    "ImportSettings": _object({
        "settings": _object({"enabled_only": _BOOL, "completeness": {"type": "integer", "nullable": True},
                             "families": _STRINGS, "removed": {"type": "string", "enum": ["hide", "delete"]},
                             "schedule": _SCHEDULE}),
        "schedule": _object({"every": _STR, "at": _STR, "next_at": _TIME, "last_tick": {},
                             "last_result": {}}),
        "missing": {"type": "array", "items": {"type": "string", "enum": ["pim", "bigcommerce", "main"]}},
        "next_import": {"type": "string", "nullable": True}, "first_import_done": _BOOL,
        "cleanup": {"type": "object", "nullable": True}}, {"to_retry": _INT}),
    "CleanupStarted": _object({"id": _STR, "action": {"type": "string", "enum": ["hide", "delete"]}}),
    "EventsStatus": _object({
        "webhook_url": _STR,
        "realtime": _object({"enabled": _BOOL, "status": _STR, "message": _STR, "checked_at": _TIME}),
        "last_event_at": _TIME, "waiting": _INT,
        "last_hour": _object({k: _INT for k in ("received", "applied", "unchanged", "failed")},
                             {k: _INT for k in ("duplicate", "skipped", "rejected")}),
        "failures": {"type": "array", "items": {"type": "object"}}},
        {"manual_secret_set": _BOOL, "note": _STR}),
    # Request bodies: the types the forms read (they refuse anything else with 422 and per-field errors).
    "PimForm": {"type": "object", "properties": {k: {"type": "string", "maxLength": 300} for k in (
        "url", "client_id", "secret", "username", "password")} | {"confirm": _BOOL}},
    "BigCommerceForm": {"type": "object", "properties": {k: {"type": "string", "maxLength": 300} for k in (
        "store_hash", "client_id", "access_token")} | {"confirm": _BOOL}},
    "MainForm": {"type": "object", "properties": {k: {"type": "string", "maxLength": 300} for k in (
        "locale", "channel", "category")} | {"confirm": _BOOL}},
    "ManualEventsForm": {"type": "object", "properties": {"secret": {"type": "string", "maxLength": 300}}},
    "MappingForm": {"type": "object", "properties": {"version": _INT, "fields": {"type": "object"},
                                                      "families": {"type": "object"}}},
    "PreviewForm": {"type": "object", "properties": {"identifier": {"type": "string", "maxLength": 300},
                                                      "model": {"type": "string", "maxLength": 300},
                                                      "mapping": {"type": "object"}}},
    "ImportForm": {"type": "object", "required": ["mode"],
                   "properties": {"mode": {"type": "string", "enum": ["full", "delta"]}}},
    "ImportSettingsForm": {"type": "object", "properties": {
        "enabled_only": _BOOL, "completeness": {"type": "integer", "minimum": 0, "maximum": 100, "nullable": True},
        "families": _STRINGS, "removed": {"type": "string", "enum": ["hide", "delete"]}, "schedule": _SCHEDULE}},
    "CleanupForm": {"type": "object", "required": ["action"],
                    "properties": {"action": {"type": "string", "enum": ["hide", "delete"]}}},
    "RealtimeForm": {"type": "object", "required": ["enabled"], "properties": {"enabled": _BOOL}},
}
