"""An application tested against a real PostgreSQL: each test gets its own fresh database."""

import pytest
from inventory import Inventory, OutOfStock


@pytest.fixture
def inventory(pg_database):
    return Inventory(pg_database.dsn())


def test_new_product_has_its_stock(inventory):
    inventory.add_product("A-1", "anvil", stock=3)
    assert inventory.stock("A-1") == 3


def test_each_test_starts_from_the_schema_alone(pg_database):
    # The previous test's anvil is not here: this database is a fresh copy of the template.
    assert pg_database.sql("SELECT count(*) FROM product") == [("0",)]


def test_selling_lowers_stock(inventory):
    inventory.add_product("B-2", "bucket", stock=5)
    assert inventory.sell("B-2", 2) == 3


def test_overselling_is_refused_by_the_database(inventory):
    inventory.add_product("C-3", "crate", stock=1)
    with pytest.raises(OutOfStock):
        inventory.sell("C-3", 2)
    assert inventory.stock("C-3") == 1


def test_unknown_product(inventory):
    with pytest.raises(KeyError):
        inventory.stock("nope")
