"""asyncio: an AsyncSession over asyncpg, and psycopg 3's own AsyncConnection."""

import psycopg
import pytest
from library.service import add_book_async, count_books_by


@pytest.mark.asyncio
async def test_async_session_over_asyncpg(async_session):
    await add_book_async(async_session, "Persuasion", "Jane Austen")
    await add_book_async(async_session, "Emma", "Jane Austen")
    assert await count_books_by(async_session, "Jane Austen") == 2


@pytest.mark.asyncio
async def test_psycopg_async_connection(pg_database):
    async with await psycopg.AsyncConnection.connect(pg_database.dsn()) as conn:
        cursor = await conn.execute("SELECT name FROM author")
        assert await cursor.fetchall() == [("Anonymous",)]


@pytest.mark.asyncio
@pytest.mark.pg_conf(max_connections=33)
async def test_a_postmaster_setting_with_asyncpg(async_session):
    from sqlalchemy import text

    assert (await async_session.execute(text("SHOW max_connections"))).scalar() == "33"
    assert await count_books_by(async_session, "Anonymous") == 0
