"""Jinja2 templates from the repository's `templates/` folder."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

ROOT = Path(__file__).resolve().parents[2]
templates = Jinja2Templates(directory=str(ROOT / "templates"))
STATIC_DIR = ROOT / "service" / "static"


def message_page(request: Request, status: int, title: str, message: str, *, hint: str | None = None) -> HTMLResponse:
    """A small page for access outcomes: log in first, not allowed, cannot verify, install failed."""
    return templates.TemplateResponse(request, "message.html", {"title": title, "message": message, "hint": hint},
                                      status_code=status)
