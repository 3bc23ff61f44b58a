"""The pages (top-level `templates/`, installed as the package
`connector_templates`) and the static files ship in the wheel. Builds a wheel from the working tree,
installs it into a fresh virtualenv (dependencies borrowed from this one, never the checkout), and serves
the configuration page, the login page and the static files from the installed copy."""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "service", "workers", "sandbox", "templates")

SCRIPT = textwrap.dedent("""
    import json, sys
    import httpx
    import connector_templates, sandbox, service
    from sandbox.serving import serve
    from service.app import create_app
    from service.settings import load_settings
    from service.web.templating import templates

    root = sys.argv[1]
    app = create_app(load_settings({"DATA_DIR": sys.argv[2], "REDIS_URL": sys.argv[3],
                                    "SECRET_KEY": "wheel-test-secret-key-0123456789abcdef"}))
    tenant = app.state.store.create_tenant()
    token, _ = app.state.sessions.issue(tenant, {"id": 1}, "bigcommerce")
    with serve(app) as url:
        page = httpx.get(url + "/", headers={"Authorization": "Bearer " + token})
        login = httpx.get(url + "/")
        script = httpx.get(url + "/static/config.js")
        css = httpx.get(url + "/static/app.css")
    print(json.dumps({
        "installed": [m.__file__.startswith(root) for m in (service, sandbox, connector_templates)],
        "templates": [templates.get_template(name).filename.startswith(root)
                      for name in ("config.html", "base.html", "_mapping.html", "message.html")],
        "page": [page.status_code, "bc-store_hash" in page.text and "/static/config.js" in page.text
                 and 'id="mapping-section"' in page.text],
        "login": [login.status_code, "Log in to your PIM first" in login.text],
        "script": [script.status_code, "use strict" in script.text],
        "css": [css.status_code, css.headers.get("content-type", "")],
    }))
""")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def test_an_installed_wheel_serves_the_pages_and_static_files(tmp_path, redis_url, redis_conn):
    # Build from a copy: an in-tree build leaves build/ behind, whose stale files end up in later wheels.
    src = tmp_path / "src"
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    # No build isolation and no index: the build uses this environment's setuptools (a dev dependency).
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
        "-w", str(tmp_path / "dist"), str(src), cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("*.whl"))
    shutil.rmtree(src)  # nothing left to find but the installed copy

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=tmp_path)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
        str(wheel), cwd=tmp_path)
    # The dependencies come from this environment through a .pth line. A directory added that way has its
    # own .pth files ignored, so this environment's editable install (the checkout) stays out.
    installed = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                         cwd=tmp_path).stdout.strip())
    (installed / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    out = run(str(python), "-c", SCRIPT, str(venv), str(tmp_path / "data"), redis_url, cwd=tmp_path).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["installed"] == [True, True, True], out
    assert result["templates"] == [True] * 4, out   # the pages are the installed package's, not a checkout's
    assert result["page"] == [200, True], out       # config.html (with base.html, _mapping.html) from the wheel
    assert result["login"] == [401, True], out      # message.html
    assert result["script"] == [200, True], out     # service/static from the package
    assert result["css"][0] == 200 and result["css"][1].startswith("text/css"), out
