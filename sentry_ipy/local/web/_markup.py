"""HTML building blocks of the local web UI: escaping, layout, tables.

Event data is untrusted (anything a notebook sends ends up here), so markup is
built only through :class:`Html`: a ``str`` subclass for text already known to
be safe. :func:`esc` escapes everything else, and every helper below runs its
arguments through it, so a value can only reach the page unescaped by being
wrapped in ``Html`` on purpose. There are no templates, scripts or external
assets: the machine may be offline and the pages must work without JS.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

from starlette.responses import HTMLResponse

from ..ingest._normalize import has_control_characters, is_web_url

__all__ = [
    "Html",
    "dl",
    "esc",
    "external",
    "join",
    "link",
    "safe_href",
    "page",
    "pre",
    "section",
    "segment",
    "table",
    "tag",
    "url",
    "when",
]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d1127;background:#faf9fb}
header{background:#2b1d38;color:#fff;padding:.5rem 1.5rem;display:flex;gap:1.2rem;align-items:baseline;flex-wrap:wrap}
header a{color:#e1d5ef;text-decoration:none}header a:hover{color:#fff;text-decoration:underline}
header b{margin-right:1rem}
main{max-width:1200px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.35rem;margin:.6rem 0 .2rem;overflow-wrap:anywhere}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
h3{font-size:.95rem;margin:1rem 0 .3rem}
a{color:#6c5fc7}.muted{color:#80708f}.sub{color:#80708f;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff;margin:.3rem 0}
th,td{text-align:left;padding:.3rem .55rem;border-bottom:1px solid #e7e1ec;vertical-align:top}
th{background:#f3f0f6;font-weight:600}
td.long{overflow-wrap:anywhere;min-width:10rem}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2rem 1rem;background:#fff;padding:.6rem;margin:.3rem 0}
dt{font-weight:600;color:#3e3446}dd{margin:0;overflow-wrap:anywhere}
pre{background:#fff;border:1px solid #e7e1ec;padding:.5rem;overflow-x:auto;margin:.2rem 0;font-size:12.5px}
.frame{background:#fff;border:1px solid #e7e1ec;margin:.35rem 0}
.frame summary{padding:.35rem .55rem;cursor:pointer;font-family:ui-monospace,monospace;font-size:12.5px}
.frame.app summary{background:#f5f0fb}.frame ol{margin:0;padding:0;list-style:none;font:12.5px ui-monospace,monospace}
.frame li{white-space:pre;padding:0 .55rem;overflow-x:auto}.frame li.hit{background:#fbe3e5}
.frame .ln{display:inline-block;width:3.5em;color:#80708f;text-align:right;margin-right:.8em}
.badge{display:inline-block;padding:0 .45em;border-radius:.6em;background:#eee8f3;font-size:12px;white-space:nowrap}
.error,.fatal{background:#fbe3e5}.warning{background:#fdf1d6}
form{display:flex;gap:.5rem;flex-wrap:wrap;margin:.4rem 0 .8rem}input[type=text]{flex:1;min-width:16rem}
.pager{margin:.6rem 0;display:flex;gap:1rem}
"""

_NAV = (("issues/", "Issues"), ("projects/", "Projects"), ("releases/", "Releases"),
        ("explore/replays/", "Replays"), ("alerts/rules/", "Alerts"), ("stats/", "Stats"))
_VOID = frozenset({"input", "meta", "br", "hr"})


class Html(str):
    """Markup that is safe to emit as is; plain ``str`` values get escaped."""

    __slots__ = ()


def esc(value: Any) -> Html:
    """Escape a value for HTML text or attributes (``None`` becomes empty)."""
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    return Html(html.escape(str(value), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Html:
    """Concatenate escaped parts (``sep`` is trusted markup)."""
    return Html(sep.join(esc(p) for p in parts))


def tag(element: str, /, *children: Any, **attrs: Any) -> Html:
    """Build ``<element attrs>children</element>``; ``class_`` spells ``class``, None drops an attribute."""
    rendered = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in attrs.items() if v is not None
    )
    if element in _VOID:
        return Html(f"<{element}{rendered}>")
    return Html(f"<{element}{rendered}>{join(children)}</{element}>")


def url(base: str, **params: Any) -> str:
    """Append query parameters (skipping empty ones) to a path."""
    query = urlencode([(k, v) for k, v in params.items() if v not in (None, "")], doseq=True)
    return f"{base}?{query}" if query else base


def segment(value: Any) -> str:
    """Percent-encode one path segment (release versions may hold ``+``, spaces, ``@``)."""
    return quote(str(value), safe="")


def safe_href(href: Any) -> str | None:
    """Return ``href`` if a page may link to it, else None.

    The one gate for every ``href`` of the UI: a path on this server (``/...``,
    ``?...``, ``#...``) or an ``http(s)://`` address. Anything else --
    ``javascript:``, ``data:``, ``vbscript:``, a scheme hidden behind tabs,
    newlines or leading spaces (browsers strip those before reading the
    scheme) -- is refused, since URLs in releases and events are untrusted.
    """
    if not isinstance(href, str) or not href or has_control_characters(href):
        return None
    if href.startswith(("/", "?", "#")) and not href.startswith(("//", "/\\")):
        return href
    return href if is_web_url(href) else None


def link(href: str, text: Any) -> Html:
    """An anchor; both the address and the text are escaped.

    An address :func:`safe_href` refuses renders as plain text, never as a link.
    """
    target = safe_href(href)
    return tag("a", text, href=target) if target is not None else esc(text)


def external(address: Any, text: Any = None) -> Html:
    """A link to an untrusted address (release URL, replay or request URL): http(s) only.

    Other schemes show as text; ``rel`` keeps the opened page from the opener and referrer.
    """
    label = address if text is None else text
    if not is_web_url(address):
        return esc(label)
    return tag("a", label, href=address, rel="noopener noreferrer nofollow")


def when(iso: Any) -> Html:
    """Show an ISO timestamp compactly (``2025-01-02 03:04:05 UTC``)."""
    if not isinstance(iso, str) or not iso:
        return esc("—")
    short = iso.replace("T", " ").split(".")[0].rstrip("Z")
    return tag("span", short + " UTC", title=iso)


def pre(value: Any) -> Html:
    """Preformatted text; dicts and lists are shown as indented JSON."""
    if not isinstance(value, str):
        value = json.dumps(value, indent=2, sort_keys=True, default=str)
    return tag("pre", value)


_TAG_RE = re.compile(r"<[^>]*>")
#: A cell holding a "word" this long (an identifier, URL, hash) may break inside words.
_LONG_WORD = 24


def _cell_class(cell: Any) -> str | None:
    """``long`` for cells with a word of ``_LONG_WORD`` characters or more, else None.

    Only those cells get ``overflow-wrap: anywhere``: applied to every cell, it
    lets the table squeeze short columns until "Level" or "unresolved" break
    mid-word; here headers and short values wrap only between words.
    """
    if cell is None:
        return None
    text = html.unescape(_TAG_RE.sub(" ", cell)) if isinstance(cell, Html) else str(cell)
    return "long" if any(len(word) >= _LONG_WORD for word in text.split()) else None


def table(headers: Iterable[Any], rows: Iterable[Iterable[Any]], empty: str = "Nothing here yet.") -> Html:
    """A table; cells are escaped unless already :class:`Html`."""
    body = [tag("tr", *(tag("td", cell, class_=_cell_class(cell)) for cell in row)) for row in rows]
    if not body:
        return tag("p", empty, class_="muted")
    head = tag("tr", *(tag("th", h) for h in headers))
    return tag("table", tag("thead", head), tag("tbody", *body))


def dl(pairs: Iterable[tuple[Any, Any]]) -> Html:
    """A definition list of ``(label, value)``; pairs with a None or empty value are skipped."""
    items = [Html(tag("dt", k) + tag("dd", v)) for k, v in pairs if v not in (None, "", [], {})]
    return tag("dl", *items) if items else Html("")


def section(title: Any, *body: Any) -> Html:
    """A titled block (``<h2>`` plus content)."""
    return Html(tag("h2", title) + join(body))


def page(org_slug: str, title: str, body: Any, *, status: int = 200, subtitle: Any = None) -> HTMLResponse:
    """Wrap content in the layout: top navigation for the org, title, body.

    Args:
        org_slug: the organisation the navigation links into ("" for none).
        title: the ``<title>`` and ``<h1>`` text.
        subtitle: an optional muted line under the heading.
    """
    base = f"/organizations/{org_slug}/" if org_slug else "/"
    nav = [tag("b", "sentry-ipy local")]
    if org_slug:
        nav += [link(base + path, label) for path, label in _NAV]
    head = tag("head", tag("meta", charset="utf-8"),
               tag("meta", name="viewport", content="width=device-width,initial-scale=1"),
               tag("title", f"{title} · sentry-ipy local"), tag("style", Html(_CSS)))
    content = [tag("h1", title)]
    if subtitle is not None:
        content.append(tag("p", subtitle, class_="sub"))
    content.append(esc(body))
    document = Html("<!doctype html>" + tag("html", head, tag("body", tag("header", *nav), tag("main", *content)),
                                             lang="en"))
    return HTMLResponse(document, status_code=status)
