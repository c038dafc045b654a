"""Storage: the SQLite file, its tables and the statements that read and write it.

:mod:`._tables` declares the schema and seed rows; :mod:`._store` owns the
connection and names the queries the rest of the backend calls.
"""
