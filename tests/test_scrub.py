"""The one denylist and the one scrubber: names, token shapes, URL passwords, literals in source."""

from __future__ import annotations

import pytest

from sentry_ipy.scrub import FILTERED, is_secret_key, redact_assignments, redact_text, scrub


@pytest.mark.parametrize("key", ["password", "DB_PASSWORD", "X-Api-Key", "auth", "aws_secret_access_key",
                                 "pw", "PW", "pass", "passwd", "pwd", "passphrase", "private_key"])
def test_secret_names(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["key", "keys", "sort_key", "upward", "compass", "passenger",
                                 "author", "sessions", "name", 3])
def test_everyday_names_are_not_secret(key: object) -> None:
    # Short secret names count only as the whole key, and "key" alone is a loop variable.
    assert not is_secret_key(key)


@pytest.mark.parametrize("text, secret", [
    ("postgresql://admin:S3cretPassA@db:5432/x", "S3cretPassA"),
    ("redis://:S3cretPassR@cache/0", "S3cretPassR"),
    ("sk_live_S3cretPassF", "S3cretPassF"),
    ("rk_test_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"),
    ("ghp_" + "a1" * 18, "a1" * 18),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "11ABCDEFG0123456789"),
    ("xoxb-123456789012-abcdefABCDEF", "123456789012-abcdefABCDEF"),
    ("id AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
    ("AIza" + "B" * 35, "B" * 35),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig-nature_x", "eyJzdWIiOiIxMjM0In0"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIB\n-----END RSA PRIVATE KEY-----", "MIIEpAIB"),
    ("-----BEGIN PRIVATE KEY-----\nMIIEcutoff", "MIIEcutoff"),
    ("GET /x?user=ada&password=S3cretQ&page=2", "S3cretQ"),
    ("Authorization: Bearer abcdefghijkl", "abcdefghijkl"),
])
def test_token_shapes_are_redacted_anywhere(text: str, secret: str) -> None:
    out = scrub(text)
    assert secret not in out and FILTERED in out


def test_url_password_keeps_scheme_user_and_host() -> None:
    assert redact_text("conn postgresql://admin:S3cret@db:5432/x ok") == \
        f"conn postgresql://admin:{FILTERED}@db:5432/x ok"
    assert redact_text("https://sentry.io/api/0/ and http://[::1]:80/") == \
        "https://sentry.io/api/0/ and http://[::1]:80/"


@pytest.mark.parametrize("line, secret", [
    ('auth = ("user", "S3cretPassC")', "S3cretPassC"),
    ("{'auth': ('user', 'S3cretPassC')}", "S3cretPassC"),
    ('def f(pw="S3cretPassD", retries=3):', "S3cretPassD"),
    ('headers = {"X-Api-Key": "S3cretPassB"}', "S3cretPassB"),
    ('cfg = dict(host="h", password="S3cretPassP")', "S3cretPassP"),
])
def test_literals_assigned_to_secret_names_are_blanked(line: str, secret: str) -> None:
    out = redact_assignments(line)
    assert secret not in out and FILTERED in out


def test_ordinary_code_is_left_alone() -> None:
    line = 'for key in keys: print(key, sort_key, ("a", "b"), upward="x")'
    assert scrub(line) == line


def test_frame_vars_are_checked_by_name_even_as_reprs() -> None:
    # sentry-sdk serialises frame variables as reprs: the tuple arrives as a string.
    frame_vars = {"auth": "('user', 'S3cretPassC')", "pw": "'S3cretPassD'", "n": "3"}
    assert scrub(frame_vars) == {"auth": FILTERED, "pw": FILTERED, "n": "3"}


def test_error_line_is_the_one_sentence_every_face_shows() -> None:
    from sentry_ipy.errors import ConfigurationError, error_line

    exc = ConfigurationError("Header Bearer abcdefghijklmnop was refused; set another.\nsecond line")
    assert error_line(exc, first_line=True) == "ConfigurationError: Header Bearer [Filtered] was refused; set another."
    assert error_line(exc, named=False).endswith("second line")
    assert error_line(KeyError("k1234secret"), secrets=["k1234secret"]) == "KeyError: '[Filtered]'"
    assert error_line(ValueError()) == "ValueError"


def test_replace_secrets_keeps_keys_and_shapes() -> None:
    from sentry_ipy.scrub import replace_secrets

    data = {"authors": ["a"], "session": 3, "note": "token tok-12345678 here", "rows": [("tok-12345678",)]}
    assert replace_secrets(data, ["tok-12345678", None]) == {
        "authors": ["a"], "session": 3, "note": "token [Filtered] here", "rows": [["[Filtered]"]]}
