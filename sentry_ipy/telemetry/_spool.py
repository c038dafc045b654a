"""A bounded disk spool for envelopes that could not be delivered yet.

One file per envelope, in a folder per DSN under the user data dir
(``$SENTRY_IPY_DATA_DIR/spool/<dsn hash>/``). The file holds the envelope
exactly as it would go on the wire (uncompressed), so its event ID never
changes and a replay is the same request again: Sentry and the local backend
both drop an event whose ID they already stored, which makes a replay after a
partial delivery (the server stored it, the answer never came back) harmless.

The name says everything the status surfaces need without opening the file::

    <ns since epoch, 19 digits>-<pid>-<seq>~<categories, +-joined>~<reason>.env

so files sort oldest-first across processes and kernel restarts, a replay can
skip categories still rate limited, and ``doctor`` can say why each is
waiting. A replay claims a file by renaming it (atomic, so two kernels never
send the same file at once); a claim whose process died is released again.

Limits are on count and bytes. Making room drops the *oldest* files, and
every drop is counted here, logged as a warning and appended to
``dropped.log`` beside them, so doctor can report it after a restart too.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_COUNT", "REASONS", "Spool", "SpoolEntry", "spool_dir_for"]

#: Default bounds: enough for a long outage of a busy kernel, small next to a data folder.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_COUNT = 10_000

_SUFFIX = ".env"
_CLAIM = ".claim-"
_DROP_LOG = "dropped.log"

#: Why an envelope waits, as one phrase per reason code in the file name.
REASONS = {
    "refused": "the ingest server refused the connection",
    "timeout": "the ingest server did not answer in time",
    "reset": "the connection broke before the ingest server answered",
    "network": "the ingest server could not be reached",
    "http_429": "the ingest server answered 429 Too Many Requests",
    "ratelimit": "the ingest server's rate limit for this category was still in force",
    "queue_full": "the in-memory send queue was full",
    "shutdown": "the process was exiting before they could be sent",
}

_logger = logging.getLogger("sentry_ipy.telemetry")


def reason_text(code: str) -> str:
    """The phrase for a reason code (``http_503`` reads as "the ingest server answered 503")."""
    if code in REASONS:
        return REASONS[code]
    if code.startswith("http_"):
        return f"the ingest server answered HTTP {code[5:]}"
    return code.replace("_", " ")


def spool_dir_for(data_dir: Path, dsn: str) -> Path:
    """The spool folder of one DSN (hashed, so the key is not spelled out on disk)."""
    digest = hashlib.sha256(dsn.strip().encode()).hexdigest()[:16]
    return data_dir / "spool" / digest


@dataclass(frozen=True)
class SpoolEntry:
    """One spooled envelope, described by its file name."""

    name: str
    size: int
    created_ns: int
    categories: tuple[str, ...]
    reason: str

    @classmethod
    def parse(cls, name: str, size: int) -> SpoolEntry | None:
        """Read an entry from a file name, or None for files that are not ours."""
        if not name.endswith(_SUFFIX):
            return None
        try:
            stamp, cats, reason = name[: -len(_SUFFIX)].split("~")
            created = int(stamp.split("-", 1)[0])
        except ValueError:
            return None
        return cls(name, size, created, tuple(c for c in cats.split("+") if c), reason)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class Spool:
    """Envelopes waiting on disk, oldest first, within a count and a byte limit.

    Args:
        directory: the folder (created on the first write).
        max_bytes: total size the files may take; the oldest are dropped beyond it.
        max_count: number of files kept; the oldest are dropped beyond it.
    """

    def __init__(self, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_count: int = DEFAULT_MAX_COUNT) -> None:
        self.directory = Path(directory)
        self.max_bytes = int(max_bytes)
        self.max_count = int(max_count)
        self.dropped = 0
        self._lock = threading.Lock()
        self._seq = 0
        self._entries: list[SpoolEntry] = []
        self._bytes = 0
        self.refresh()

    # -- reading ------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the folder: other processes may have added files, dead ones left claims."""
        found: list[SpoolEntry] = []
        try:
            with os.scandir(self.directory) as it:
                items = list(it)
        except OSError:
            items = []
        for item in items:
            name = item.name
            if _CLAIM in name:
                base, _, pid = name.rpartition(_CLAIM)
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    try:  # its process died mid-replay: the envelope waits again
                        os.replace(item.path, self.directory / base)
                        name = base
                    except OSError:
                        continue
                else:
                    continue
            try:
                size = item.stat().st_size if name == item.name else (self.directory / name).stat().st_size
            except OSError:
                continue
            entry = SpoolEntry.parse(name, size)
            if entry is not None:
                found.append(entry)
        found.sort(key=lambda e: e.name)
        with self._lock:
            self._entries = found
            self._bytes = sum(e.size for e in found)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def entries(self) -> list[SpoolEntry]:
        """The waiting envelopes, oldest first."""
        with self._lock:
            return list(self._entries)

    def summary(self) -> dict[str, Any]:
        """Plain data for status surfaces: count, bytes, why, which categories, drops."""
        with self._lock:
            entries = list(self._entries)
            size = self._bytes
        reasons = Counter(e.reason for e in entries)
        categories = Counter(c for e in entries for c in e.categories)
        return {
            "directory": str(self.directory),
            "count": len(entries),
            "bytes": size,
            "oldest": _iso(entries[0].created_ns) if entries else None,
            "reasons": dict(reasons.most_common()),
            "categories": dict(categories.most_common()),
            "dropped": self.dropped_total(),
            "max_count": self.max_count,
            "max_bytes": self.max_bytes,
        }

    def dropped_total(self) -> int:
        """Envelopes dropped to make room, by any process using this folder."""
        try:
            text = (self.directory / _DROP_LOG).read_text()
        except OSError:
            return self.dropped
        total = 0
        for line in text.splitlines():
            head = line.split(" ", 2)
            if len(head) > 1 and head[1].isdigit():
                total += int(head[1])
        return total

    # -- writing ------------------------------------------------------------------
    def add(self, data: bytes, categories: Iterable[str], reason: str) -> int:
        """Store one envelope; returns how many old ones were dropped to make room.

        Raises:
            OSError: the folder cannot be written (the caller reports the loss).
        """
        cats = "+".join(sorted({c for c in categories if c.replace("_", "").isalnum()})) or "default"
        code = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in reason) or "network"
        with self._lock:
            self._seq += 1
            name = f"{time.time_ns():019d}-{os.getpid()}-{self._seq:06d}~{cats}~{code}{_SUFFIX}"
            dropped = self._make_room(len(data))
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.directory / name)  # readers never see half a file
        entry = SpoolEntry.parse(name, len(data))
        assert entry is not None
        with self._lock:
            self._entries.append(entry)
            self._bytes += entry.size
        if dropped:
            self._record_drop(dropped)
        return dropped

    def _make_room(self, incoming: int) -> int:
        """Drop the oldest files until one more of ``incoming`` bytes fits (lock held)."""
        dropped = 0
        while self._entries and (len(self._entries) + 1 > self.max_count
                                 or self._bytes + incoming > self.max_bytes):
            oldest = self._entries.pop(0)
            self._bytes -= oldest.size
            try:
                os.unlink(self.directory / oldest.name)
            except OSError:
                pass  # a replay claimed it meanwhile
            dropped += 1
        self.dropped += dropped
        return dropped

    def _record_drop(self, n: int) -> None:
        _logger.warning("sentry-ipy: the delivery spool in %s is full; dropped the %d oldest envelope(s)",
                        self.directory, n)
        try:
            with open(self.directory / _DROP_LOG, "a") as fh:
                fh.write(f"{_iso(time.time_ns())} {n} oldest dropped (limits {self.max_count} files, "
                         f"{self.max_bytes} bytes)\n")
        except OSError:
            pass

    # -- replaying ----------------------------------------------------------------
    def claim(self, entry: SpoolEntry) -> bytes | None:
        """Take one envelope for sending; None if another process took (or dropped) it."""
        path = self.directory / entry.name
        claimed = path.with_name(entry.name + _CLAIM + str(os.getpid()))
        try:
            os.replace(path, claimed)
            return claimed.read_bytes()
        except OSError:
            self._forget(entry)
            return None

    def done(self, entry: SpoolEntry) -> None:
        """The envelope was delivered (or refused for good): remove it."""
        try:
            os.unlink(self.directory / (entry.name + _CLAIM + str(os.getpid())))
        except OSError:
            pass
        self._forget(entry)

    def release(self, entry: SpoolEntry) -> None:
        """Sending failed: the envelope waits again in its place."""
        path = self.directory / entry.name
        try:
            os.replace(path.with_name(entry.name + _CLAIM + str(os.getpid())), path)
        except OSError:
            self._forget(entry)

    def _forget(self, entry: SpoolEntry) -> None:
        with self._lock:
            try:
                self._entries.remove(entry)
            except ValueError:
                return
            self._bytes -= entry.size


def _iso(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns / 1e9))
