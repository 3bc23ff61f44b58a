"""The connector's pages (Jinja2), installed as the package `connector_templates`.

A package so that one lookup finds them wherever the code is: pyproject.toml maps this folder to
`connector_templates` (setup.py adds it to the discovered packages), the wheel ships the `.html` files as
its package data, an editable install maps the name back to this folder, and
`service/web/templating.py` loads them by package name."""
