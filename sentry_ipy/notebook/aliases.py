"""Short magic names: ``%sentry_<alias>`` runs the tool it maps to.

Kept as data here (not read from the registry) so ``%load_ext`` registers the
magics without importing the tool modules; a test checks this table against
each tool's ``alias``.
"""

from __future__ import annotations

__all__ = ["MAGIC_ALIASES"]

MAGIC_ALIASES: dict[str, str] = {}
