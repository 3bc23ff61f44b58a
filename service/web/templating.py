"""Jinja2 templates from `service/templates/`; static files from `service/static/`.

Both are package data (pyproject.toml): found next to this package, so an installed wheel serves the same
pages as a checkout."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

PACKAGE = Path(__file__).resolve().parents[1]  # service/, wherever it is installed
templates = Jinja2Templates(directory=str(PACKAGE / "templates"))
STATIC_DIR = PACKAGE / "static"


def message_page(request: Request, status: int, title: str, message: str, *, hint: str | None = None) -> HTMLResponse:
    """A small page for access outcomes: log in first, not allowed, cannot verify, install failed."""
    return templates.TemplateResponse(request, "message.html", {"title": title, "message": message, "hint": hint},
                                      status_code=status)
