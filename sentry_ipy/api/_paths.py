"""Building API paths safely and reading Sentry identifiers out of user input.

Every path segment is percent-encoded, so a release ``1.0 +build/2`` or a slug
``..`` can never escape its place in the URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from ..errors import ToolInputError

__all__ = ["IssueRef", "encode_segment", "normalise_hex_id", "parse_issue_ref", "SHORT_ID_RE"]

#: Sentry's own split of a short ID: project part, separator, base32 suffix.
SHORT_ID_RE = re.compile(r"^(.*?)[\s_-]([A-Za-z0-9]+)$")
_REGION_LABELS = {"www", "us", "de", "sentry"}


def encode_segment(value: object) -> str:
    """Percent-encode one path segment, including ``/``, ``?``, ``#`` and dot-only names."""
    text = str(value)
    if text == "":
        raise ToolInputError("An empty name or ID was given where the path needs one.")
    encoded = quote(text, safe="")
    if set(text) == {"."}:
        encoded = encoded.replace(".", "%2E")
    return encoded


def normalise_hex_id(value: str, what: str = "event ID") -> str:
    """Accept a 32-hex ID with or without dashes or braces; return it lowercase and bare."""
    text = value.strip().strip("{}").replace("-", "").lower()
    if not re.fullmatch(r"[0-9a-f]{32}", text):
        raise ToolInputError(f"{value!r} is not a valid {what}: expected 32 hexadecimal characters.")
    return text


@dataclass(frozen=True)
class IssueRef:
    """An issue named by the user: an ID or short ID, maybe with org and event from a URL."""

    issue_id: str
    org: str | None = None
    project: str | None = None
    event_id: str | None = None


def parse_issue_ref(text: str) -> IssueRef:
    """Read an issue ID, a short ID, or any of Sentry's issue URL forms.

    URL forms: ``https://{org}.sentry.io/issues/{id}/``,
    ``https://host/organizations/{org}/issues/{id}/``, the very old
    ``https://sentry.io/{org}/{project}/issues/{id}/`` and the permalink of
    Sentry-compatible servers ``https://host/{project}/issues/{id}``; each may end in
    ``/events/{eventId}/`` and carry ``?project=``.
    """
    raw = text.strip()
    if not raw:
        raise ToolInputError("The issue ID is empty; give a numeric ID, a short ID like PROJ-1Z4 or an issue URL.")
    if "://" not in raw and "/" not in raw:
        if raw.isdigit() or SHORT_ID_RE.match(raw):
            return IssueRef(issue_id=raw)
        raise ToolInputError(f"{raw!r} is neither an issue ID, a short ID like PROJ-1Z4, nor an issue URL.")
    parts = urlsplit(raw if "://" in raw else "https://" + raw)
    segs = [s for s in parts.path.split("/") if s]
    if "issues" not in segs or segs.index("issues") + 1 >= len(segs):
        raise ToolInputError(f"{raw!r} is not an issue URL: it has no /issues/<id>/ part.")
    i = segs.index("issues")
    issue_id = segs[i + 1]
    event_id = None
    if i + 3 < len(segs) + 1 and len(segs) > i + 3 and segs[i + 2] == "events":
        event_id = segs[i + 3]
    org = project = None
    if "organizations" in segs[:i] and segs.index("organizations") + 1 < i:
        org = segs[segs.index("organizations") + 1]
    elif i >= 2:
        org, project = segs[0], segs[1]
    elif i == 1:
        # ``{base}/{project}/issues/{id}``: Sentry-compatible servers' permalinks name the
        # project there, not the org, so the configured org stays in charge.
        project = segs[0]
    else:
        label = (parts.hostname or "").split(".")[0]
        host_parts = (parts.hostname or "").split(".")
        if len(host_parts) >= 3 and label not in _REGION_LABELS:
            org = label
    project = project or next(iter(parse_qs(parts.query).get("project", [])), None)
    return IssueRef(issue_id=issue_id, org=org, project=project, event_id=event_id)
