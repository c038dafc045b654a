"""The ``/api/0/`` Web API: one module per resource, each exporting Starlette ``routes``.

:mod:`._plumbing` holds what every handler shares (errors, auth, paging,
lookups); :mod:`._shapes` and :mod:`._event_shapes` turn rows into Sentry's
response shapes. The modules here import Starlette, so only a starting server
imports them.
"""
