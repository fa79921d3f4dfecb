"""Set a role's password so that the password itself never reaches the server or its logs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["SCRAM_ITERATIONS", "alter_password_sql", "password_literal", "scram_verifier"]

#: PostgreSQL's default iteration count for SCRAM-SHA-256 verifiers.
SCRAM_ITERATIONS = 4096


def scram_verifier(
    password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802 and 7677).

    Given to ``ALTER ROLE ... PASSWORD``, it sets the password without the password itself
    ever reaching the server, so no server log (``log_statement``, an error's STATEMENT
    line) can show it. For printable ASCII passwords, which SASLprep leaves unchanged.
    """
    if not password.isascii() or not password.isprintable():
        raise ValueError("scram_verifier takes printable ASCII passwords (no SASLprep here)")
    salt = secrets.token_bytes(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("ascii"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def password_literal(password: str) -> str:
    """A SQL literal for ``ALTER ROLE ... PASSWORD``: the SCRAM verifier when the password
    allows it (the password then never reaches the server or its logs), else the password."""
    try:
        value = scram_verifier(password)
    except ValueError:
        value = password
    return "'" + value.replace("'", "''") + "'"


def alter_password_sql(role: str, password: str) -> str:
    """The statement that gives ``role`` this password."""
    ident = '"' + role.replace('"', '""') + '"'
    return f"ALTER ROLE {ident} PASSWORD {password_literal(password)}"
