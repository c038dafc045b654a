"""The read-only HTML UI at the paths Sentry's own web UI uses (:mod:`._views`)."""
