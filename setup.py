"""Packages: the discovered ones plus the pages' package, `connector_templates` from the top-level `templates/`.

Everything else is in pyproject.toml, whose `packages` can be a list or a `find`, not both: `find` sees
folders by their names, so it cannot add a folder installed under another name (its `package-dir` and
`package-data` are in pyproject.toml). Namespace discovery, as pyproject's `find` did: `service/static`."""

from setuptools import find_namespace_packages, setup

setup(packages=[*find_namespace_packages(include=["service*", "workers*", "sandbox*"]), "connector_templates"])
