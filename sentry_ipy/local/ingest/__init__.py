"""Ingest: what ``sentry-sdk`` sends, from the HTTP request to stored rows.

The pipeline reads in order: :mod:`._ingest_endpoints` (the ``/api/{id}/envelope/``
and ``/store/`` endpoints: auth, size limits, decompression) → :mod:`._envelope`
(parse items) → :mod:`._normalize` (repair and bound the payload) →
:mod:`._grouping` (fingerprint to an issue) → :mod:`._pipeline` (write events,
sessions, replays and outcomes through the store).
"""
