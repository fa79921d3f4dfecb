"""psycopg2 and pg8000, the drivers older code uses: through dsn() and url()."""

import pg8000.dbapi
import psycopg2
import pytest
from sqlalchemy import create_engine, text


def test_psycopg2_with_the_dsn(pg_database):
    conn = psycopg2.connect(pg_database.dsn())  # the unix socket, libpq's keywords
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM author")
            assert cursor.fetchone() == (1,)
    finally:
        conn.close()


@pytest.mark.parametrize("driver", ["psycopg2", "pg8000"])
def test_sqlalchemy_with_each_driver(pg_database, driver):
    engine = create_engine(pg_database.url(driver=driver))  # TCP, the run's password
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM author")).scalar() == "Anonymous"
    engine.dispose()


def test_pg8000_by_itself(pg_database):
    cluster = pg_database.cluster
    conn = pg8000.dbapi.connect(
        user=cluster.user,
        password=cluster.password,
        host=cluster.address,
        port=cluster.port,
        database=pg_database.name,
    )
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT inet_server_addr()::text")
        assert cursor.fetchone() == ["127.0.0.1/32"]
    finally:
        conn.close()
