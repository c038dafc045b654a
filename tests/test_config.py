"""Settings: URL checks, userinfo never shown, .sentryclirc read as leniently as sentry-cli."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentry_ipy.config import Settings, read_sentryclirc
from sentry_ipy.errors import ConfigurationError


def _resolve(tmp_path: Path, env: dict[str, str] | None = None, **explicit: str) -> Settings:
    return Settings.resolve(env=env or {}, home=tmp_path, cwd=tmp_path, **explicit)


@pytest.mark.parametrize("url, why", [
    ("http://[::1", "Invalid IPv6 URL"),
    ("https://a..b", "empty or too long part"),
    ("https://xn--.example", "invalid part 'xn--'"),
    ("https://xn--zz.example", "punycode"),
    ("https://sen try.io", "invalid part"),
    ("https://h:99999", "Port out of range"),
    ("ftp://h", "not an http(s) URL"),
])
def test_malformed_urls_are_one_configuration_sentence(tmp_path: Path, url: str, why: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        _resolve(tmp_path, {"SENTRY_URL": url})
    text = str(err.value)
    assert why in text and "set SENTRY_URL like" in text and "\n" not in text


@pytest.mark.parametrize("url, expected", [
    ("https://sentry.example.com/api/0/", "https://sentry.example.com"),
    ("sentry.example.com:9000", "https://sentry.example.com:9000"),
    ("http://[::1]:9000/", "http://[::1]:9000"),
    ("https://bücher.de", "https://bücher.de"),
])
def test_good_urls_are_normalised(tmp_path: Path, url: str, expected: str) -> None:
    assert _resolve(tmp_path, {"SENTRY_URL": url}).url == expected


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_url_means_unset(tmp_path: Path, blank: str) -> None:
    settings = _resolve(tmp_path, {"SENTRY_URL": blank})
    assert settings.url is None and settings.uses_local_backend
    assert _resolve(tmp_path, {"SENTRY_URL": blank, "SENTRY_HOST": "h.example"}).url == "https://h.example"
    assert _resolve(tmp_path, url=blank).uses_local_backend


def test_url_with_userinfo_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as err:
        _resolve(tmp_path, {"SENTRY_URL": "https://user:hunter2@sentry.example.com"})
    assert str(err.value) == ("SENTRY_URL contains a user name or password; remove it and use "
                              "SENTRY_AUTH_TOKEN.")
    with pytest.raises(ConfigurationError) as err:
        _resolve(tmp_path, {"SENTRY_URL": "https://user:hunter2@[::1"})
    assert "hunter2" not in str(err.value)


def test_repr_and_secrets_cover_url_userinfo() -> None:
    settings = Settings(url="https://user:hunter2@sentry.example.com/x", auth_token="tok-123456")
    assert "hunter2" not in repr(settings) and "user" not in repr(settings)
    assert "https://***@sentry.example.com/x" in repr(settings)
    assert "hunter2" in settings.secrets and "user" not in settings.secrets  # a short name is no key


def test_token_with_a_line_break_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="one line"):
        _resolve(tmp_path, {"SENTRY_AUTH_TOKEN": "abc\ndef"})
    assert _resolve(tmp_path, {"SENTRY_AUTH_TOKEN": "  abc  "}).auth_token == "abc"


def test_sentryclirc_accepts_bom_inline_comments_quotes_and_repeats(tmp_path: Path) -> None:
    rc = tmp_path / ".sentryclirc"
    rc.write_bytes(b"\xef\xbb\xbf[auth]\ntoken = \"tok-abc\"  ; pasted from the UI\n"
                   b"[defaults]\norg = first\norg = 'myorg' # the team's\nurl=sentry.example.com\n")
    assert read_sentryclirc(rc) == {"auth_token": "tok-abc", "org": "myorg",
                                    "url": "sentry.example.com"}


@pytest.mark.parametrize("content, problem", [
    (b"token=sntrys_secret\n", "line 1 comes before any [section]"),
    ("[defaults]\norg=caf\xe9\n".encode("latin-1"), "is not UTF-8 text"),
    (b"[defaults]\norg=a\nnot a pair sntrys_secret\n", "line 3 is not 'key = value'"),
])
def test_bad_sentryclirc_names_the_file_and_the_problem_not_the_line(
        tmp_path: Path, content: bytes, problem: str) -> None:
    rc = tmp_path / ".sentryclirc"
    rc.write_bytes(content)
    with pytest.raises(ConfigurationError) as err:
        _resolve(tmp_path)
    text = str(err.value)
    assert str(rc) in text and problem in text and "sntrys_secret" not in text


def test_resolve_with_sources_names_where_each_setting_came_from(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir(exist_ok=True)
    cwd.mkdir()
    (home / ".sentryclirc").write_text("[auth]\ntoken = from-home\n[defaults]\norg = home-org\nproject = p1\n")
    (cwd / ".sentryclirc").write_text("[defaults]\nproject = p2\n")
    env = {"SENTRY_HOST": "https://sentry.example.com", "SENTRY_ORG": "env-org", "SENTRY_RELEASE": " "}
    settings, sources = Settings.resolve_with_sources(env=env, home=home, cwd=cwd, org="explicit-org")
    assert (settings.org, settings.project, settings.url, settings.auth_token) == (
        "explicit-org", "p2", "https://sentry.example.com", "from-home")
    assert sources == {"auth_token": str(home / ".sentryclirc"), "org": "explicit",
                       "project": str(cwd / ".sentryclirc"), "url": "SENTRY_HOST"}
    assert settings.auth_token_source == str(home / ".sentryclirc")
    assert Settings.resolve(env=env, home=home, cwd=cwd, org="explicit-org") == settings
    assert "from-home" not in repr(settings) and "auth_token_source" not in repr(settings)


def test_setting_from_env_reads_the_declared_variables_in_order() -> None:
    from sentry_ipy.config import setting_from_env

    assert setting_from_env("url", {"SENTRY_HOST": "h", "SENTRY_URL": " "}) == "h"
    assert setting_from_env("url", {"SENTRY_HOST": "h", "SENTRY_URL": "u"}) == "u"
    assert setting_from_env("release", {}) is None


def test_every_declared_setting_is_a_settings_field() -> None:
    import dataclasses

    from sentry_ipy.config import SETTINGS, Settings

    fields = {f.name for f in dataclasses.fields(Settings)}
    assert {s.name for s in SETTINGS} <= fields
