"""Jinja2 templates from the package `connector_templates` (the top-level `templates/`); static files from
`service/static/`.

Both are package data (pyproject.toml). The pages are loaded by package name, the static files found next
to this package: a checkout (its editable install maps the name to `templates/`) and an installed wheel
serve the same pages, with no path into the repository."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

PACKAGE = Path(__file__).resolve().parents[1]  # service/, wherever it is installed
TEMPLATES_PACKAGE = "connector_templates"
if importlib.util.find_spec(TEMPLATES_PACKAGE) is None:  # PackageLoader would only fail an assert
    raise ModuleNotFoundError(f"no package {TEMPLATES_PACKAGE!r} (the pages, templates/): install the project "
                              "(a checkout: scripts/setup, or pip install -e . after pyproject.toml changed)",
                              name=TEMPLATES_PACKAGE)
templates = Jinja2Templates(env=jinja2.Environment(loader=jinja2.PackageLoader(TEMPLATES_PACKAGE, "."),
                                                   autoescape=jinja2.select_autoescape()))
STATIC_DIR = PACKAGE / "static"


def message_page(request: Request, status: int, title: str, message: str, *, hint: str | None = None) -> HTMLResponse:
    """A small page for access outcomes: log in first, not allowed, cannot verify, install failed."""
    return templates.TemplateResponse(request, "message.html", {"title": title, "message": message, "hint": hint},
                                      status_code=status)
