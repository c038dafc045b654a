"""What one server offers, learned from the answers it already gave, once per client.

sentry.io, each self-hosted Sentry version and each Sentry-compatible server
(GlitchTip and friends) differ in which routes exist and which parameters they
honour. Nothing here probes ahead: a capability function tries the best route,
and when the server answers it with a missing-route sign (405, or a web page
where JSON was due: :class:`~sentry_ipy.errors.UnsupportedFeatureError`) the
route is remembered as missing, the next way is tried, and later calls skip
straight to what works. Learned values (the ``sort`` names a server accepts)
live here too, so each is learned once.
"""

from __future__ import annotations

import threading
import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..errors import UnsupportedFeatureError

__all__ = ["ServerFeatures"]

T = TypeVar("T")

#: The learned key holding why the server is known not to be Sentry.
_NOT_SENTRY = "not sentry"


class ServerFeatures:
    """The routes one server lacks and the values it was seen to accept.

    Args:
        where: the server's origin, named in sentences about it.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self._missing: set[str] = set()
        self._learned: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ServerFeatures({self.where!r}, missing={sorted(self._missing)})"

    def lacks(self, route: str) -> bool:
        """True when ``route`` (a capability's name for one way) answered as missing before."""
        with self._lock:
            return route in self._missing

    def learn_missing(self, route: str) -> None:
        """Remember that the server has no ``route``."""
        with self._lock:
            self._missing.add(route)

    def learned(self, key: str, default: Any = None) -> Any:
        """A value learned from an earlier answer (``default`` when none was)."""
        with self._lock:
            return self._learned.get(key, default)

    def learn(self, key: str, value: Any) -> None:
        """Remember ``value`` under ``key`` for the rest of this client's life."""
        with self._lock:
            self._learned[key] = value

    def not_sentry(self) -> str | None:
        """The sign that showed this server is not Sentry (so Sentry's web UI paths are wrong
        here), or None while nothing did."""
        return typing.cast("str | None", self.learned(_NOT_SENTRY))

    def learn_not_sentry(self, sign: str) -> None:
        """Remember that an answer showed this server is not Sentry (the first sign is kept).

        Sentry answers an unknown API route with JSON, always applies ``is:unresolved``,
        accepts its own ``sort`` values and gives permalinks of its own shape; a web page
        on an API route, an ignored default query, a foreign sort enum or another
        permalink shape is a Sentry-compatible server with a web UI of its own.
        """
        with self._lock:
            self._learned.setdefault(_NOT_SENTRY, sign)

    def first(self, feature: str, ways: Sequence[tuple[str, Callable[[], T]]]) -> T:
        """The answer of the first way the server offers, skipping ways known to be missing.

        Args:
            feature: the feature in words ("issue detail API"), for the sentence
                when no way works.
            ways: ``(route name, call)`` pairs, best first.

        Raises:
            UnsupportedFeatureError: every way is missing; the sentence names the
                feature and the server.
        """
        last: UnsupportedFeatureError | None = None
        for route, call in ways:
            if self.lacks(route):
                continue
            try:
                return call()
            except UnsupportedFeatureError as exc:
                self.learn_missing(route)
                last = exc
        raise self.missing(feature, last)

    def missing(self, feature: str, cause: UnsupportedFeatureError | None = None,
                also: str = "") -> UnsupportedFeatureError:
        """The one sentence for a feature this server lacks: "This server (...) has no X."

        Args:
            also: a further clause (what to use instead), appended after a semicolon.
        """
        tail = f"; {also}" if also else ""
        return UnsupportedFeatureError(f"This server ({self.where}) has no {feature}{tail}.",
                                       status=cause.status if cause else 0,
                                       url=cause.url if cause else "", feature=feature)
