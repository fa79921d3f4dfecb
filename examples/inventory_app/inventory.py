"""A tiny application: a stock keeper over psycopg, as a user of pytest-boss would test one."""

from __future__ import annotations

import psycopg


class OutOfStock(Exception):
    """Raised when a sale asks for more than is in stock."""


class Inventory:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def add_product(self, sku: str, name: str, stock: int = 0) -> None:
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                "INSERT INTO product (sku, name, stock) VALUES (%s, %s, %s)", (sku, name, stock)
            )

    def stock(self, sku: str) -> int:
        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute("SELECT stock FROM product WHERE sku = %s", (sku,)).fetchone()
        if row is None:
            raise KeyError(sku)
        return int(row[0])

    def sell(self, sku: str, quantity: int) -> int:
        """Sell atomically: the CHECK constraint, not Python, guards against overselling."""
        try:
            with psycopg.connect(self.conninfo) as conn:
                row = conn.execute(
                    "UPDATE product SET stock = stock - %s WHERE sku = %s RETURNING stock",
                    (quantity, sku),
                ).fetchone()
        except psycopg.errors.CheckViolation as exc:
            raise OutOfStock(sku) from exc
        if row is None:
            raise KeyError(sku)
        return int(row[0])
