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
    # Sentry's own tokens, as sentry.io issues them: organization (sntrys_) and user (sntryu_).
    ("org token sntrys_eyJpYXQiOjE3MDAwMDAwMDB9_AbCdEf0123456789 end", "eyJpYXQiOjE3MDAwMDAwMDB9_AbCdEf0123456789"),
    ("user token sntryu_0123456789abcdef0123456789abcdef01234567 end", "0123456789abcdef0123456789abcdef01234567"),
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


#: Strings made of one repeated unit, each a shape that once made a pattern rescan the rest of
#: the text from every position (runs of name characters, hex, base64, quotes, separators,
#: the starts of URLs, JWTs and PEM blocks), and pairs that make every few characters a match.
_HOSTILE_UNITS = ["E", "ab", "0", "a1f9", "A+/=", " ", "\n", "=", ":", "'", '"', "-", ".", "(",
                  "a=", "a:'", "a='", "a=(", "x.y-", "a=b&", "http://a:", "eyJa-", "eyJa.",
                  "-----BEGIN ", "bearer ", "sntrs_", "ghp_", "AKIA", "@", "password="]


def test_scrubbing_grows_linearly_for_every_hostile_shape() -> None:
    # Measured in CPU instructions under callgrind, not seconds: doubling the text about
    # doubles the work for each shape (a quadratic scan would quadruple it). The bound per
    # character keeps 1 MB of any shape far below a second (benchmarks/scrub_linear.py).
    from tests._work import instructions

    small, large = 8192, 16384
    cases = ["scrub(warm)"]
    for unit in _HOSTILE_UNITS:
        cases += [f"scrub(texts[{unit!r}, {n}])" for n in (small, large)]
    setup = ("from sentry_ipy.scrub import scrub\n"
             f"units = {_HOSTILE_UNITS!r}\nwarm = 'api_key=abc token=\"x\" ' * 100\n"
             f"texts = {{(u, n): (u * (n // len(u) + 1))[:n] for u in units for n in ({small}, {large})}}")
    counts = instructions(setup, cases)[1:]
    for i, unit in enumerate(_HOSTILE_UNITS):
        work_small, work_large = counts[2 * i], counts[2 * i + 1]
        assert work_large / work_small < 2.4, (unit, work_small, work_large)
        assert work_large / large < 20_000, (unit, work_large)
