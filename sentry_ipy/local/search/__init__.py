"""Sentry's search syntax: parsing (:mod:`._query`) and issue matching (:mod:`._issue_search`)."""
