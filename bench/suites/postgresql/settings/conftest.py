"""Workload 3 (pytest-postgresql): one process fixture per postmaster-level configuration.

This is what pytest-postgresql's documentation prescribes for a server configuration: a
`factories.postgresql_proc(postgres_options=...)` per configuration. Each one runs its own
initdb and server, started at its first use and stopped at the end of the session.
"""

from pytest_postgresql import factories

postgresql_mc20 = factories.postgresql_proc(postgres_options="-c max_connections=20")
postgresql_mc21 = factories.postgresql_proc(postgres_options="-c max_connections=21")
postgresql_mc22 = factories.postgresql_proc(postgres_options="-c max_connections=22")
postgresql_mc23 = factories.postgresql_proc(postgres_options="-c max_connections=23")
postgresql_mc24 = factories.postgresql_proc(postgres_options="-c max_connections=24")
