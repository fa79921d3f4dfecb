"""The shop's tests, as a Django project writes them with pytest-django; they run on
pytest-boss clusters because pytest.ini says `-p pytest_boss.django`."""

import psycopg
import pytest
from django.db import IntegrityError, connection
from shop.models import Category, Order, Product, place_order


def _show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


@pytest.fixture
def book(db) -> Product:
    return Product.objects.create(
        name="SICP", category=Category.objects.get(name="books"), price_cents=4500, stock=2
    )


def test_the_data_migration_is_in_the_template(db):
    # Migrations ran once, into the template; every test database is a copy of it.
    assert sorted(Category.objects.values_list("name", flat=True)) == ["books", "games", "tools"]


def test_each_test_starts_empty(db):
    assert Product.objects.count() == 0  # what other tests made was rolled back
    Product.objects.create(name="x", category=Category.objects.first(), price_cents=1)


def test_an_order_takes_from_the_stock(book):
    place_order(book, 2)
    book.refresh_from_db()
    assert (book.stock, Order.objects.count()) == (0, 1)


def test_the_database_refuses_to_sell_what_is_not_there(book):
    with pytest.raises(IntegrityError, match="stock_not_negative"):
        place_order(book, 3)
    book.refresh_from_db()
    assert (book.stock, Order.objects.count()) == (2, 0)


def test_committed_rows_are_seen_by_other_connections(transactional_db):
    Product.objects.create(
        name="dice", category=Category.objects.get(name="games"), price_cents=300
    )
    params = connection.get_connection_params()
    with psycopg.connect(**params) as other:
        assert other.execute("SELECT name FROM shop_product").fetchall() == [("dice",)]


@pytest.mark.pg_conf(work_mem="12MB")
def test_a_reloadable_setting_reaches_django(db):
    assert _show("work_mem") == "12MB"


@pytest.mark.pg_conf(log_disconnections=True)
def test_a_connection_time_setting_reaches_django(db):
    # Set at login only: Django's connection was opened after the marker was in force.
    assert _show("log_disconnections") == "on"


@pytest.mark.pg_conf(max_connections=42)
def test_a_postmaster_setting_moves_django_to_another_cluster(db, pg_cluster):
    assert _show("max_connections") == "42"
    assert connection.settings_dict["PORT"] == str(pg_cluster.port)
    assert Category.objects.count() == 3  # that cluster has the migrated template too


@pytest.mark.pg_hba("host all reporting 127.0.0.1/32 reject")
def test_an_hba_rule_applies_beside_django(db):
    params = connection.get_connection_params()
    with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects connection"):
        psycopg.connect(**{**params, "user": "reporting", "password": "x"})
    assert Category.objects.exists()  # Django's own login is not refused


@pytest.mark.asyncio
async def test_the_async_orm(transactional_db):
    # Django runs async queries in another thread, on a connection of its own: it sees
    # committed rows only, hence transactional_db.
    books = await Category.objects.aget(name="books")
    await Product.objects.acreate(name="SICP", category=books, price_cents=4500)
    assert await Product.objects.filter(category__name="books").acount() == 1
