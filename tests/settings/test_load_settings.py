"""Settings from the environment (service/settings.py): defaults, parsing, errors that name the variable,
URL normalising, and a process that stops with exit status 2 and one line on a bad value."""

import subprocess
import sys

import pytest

from service.settings import SettingsError, load_settings, normalise_url


def test_defaults_with_empty_environment(tmp_path, caplog):
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    assert settings.redis_url is None
    assert settings.app_url == "http://127.0.0.1:8000"
    assert settings.bc_api_url == "https://api.bigcommerce.com"
    assert settings.bc_login_url == "https://login.bigcommerce.com"
    assert settings.pim_urls == ()
    assert settings.pim_session_cookie == "BAPID"
    assert not settings.bc_app_configured
    # The generated key is kept, private, and reused next time.
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == settings.secret_key
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_settings({"DATA_DIR": str(tmp_path)}).secret_key == settings.secret_key
    assert "SECRET_KEY is not set" in caplog.text
    assert settings.secret_key not in repr(settings)


def test_values_are_parsed(tmp_path):
    settings = load_settings({
        "DATA_DIR": str(tmp_path), "SECRET_KEY": "x" * 32, "PORT": "9000", "REDIS_URL": "redis://h:6380/3",
        "APP_URL": "https://Connector.Example.com/", "PIM_URLS": "https://pim.example.com/ , http://Other:8080",
        "BC_CLIENT_ID": "id", "BC_CLIENT_SECRET": "secret", "ALLOW_PRIVATE_URLS": "true",
    })
    assert settings.port == 9000
    assert settings.app_url == "https://connector.example.com"
    assert settings.https
    assert settings.pim_urls == ("https://pim.example.com", "http://other:8080")
    assert settings.bc_app_configured
    assert settings.allow_private_urls
    assert settings.redis_url == "redis://h:6380/3"


@pytest.mark.parametrize(("name", "value", "words"), [
    ("APP_URL", "connector.example.com", "http:// or https://"),
    ("APP_URL", "http://", "no host"),
    ("APP_URL", "http://host:notaport", "not a valid URL"),
    ("REDIS_URL", "localhost:6379", "redis://"),
    ("REDIS_URL", "redis://h:99999", "not a valid URL"),
    ("PIM_URLS", "ftp://pim", "http:// or https://"),
    ("BC_API_URL", "api.bigcommerce.com", "http:// or https://"),
    ("PORT", "eighty", "whole number"),
    ("SECRET_KEY", "short", "too short"),
    ("ALLOW_PRIVATE_URLS", "maybe", "true or false"),
    ("BC_CLIENT_ID", "only-id", "BC_CLIENT_SECRET"),
])
def test_bad_values_name_the_variable(tmp_path, name, value, words):
    with pytest.raises(SettingsError) as err:
        load_settings({"DATA_DIR": str(tmp_path), name: value})
    assert words in str(err.value)
    assert str(err.value).startswith("BC_CLIENT_SECRET" if name == "BC_CLIENT_ID" else name)


def test_normalise_url():
    assert normalise_url(" HTTPS://PIM.Example.com/ ") == "https://pim.example.com"
    assert normalise_url("http://pim:8080/sub/") == "http://pim:8080/sub"


@pytest.mark.parametrize(("env", "name"), [
    ({"APP_URL": "no-scheme.example.com"}, "APP_URL"),
    ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "REDIS_URL"),
])
def test_process_stops_with_exit_2_and_one_line(tmp_path, env, name):
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "web"], env={"DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 32, **env},
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"connector: {name}: ")
