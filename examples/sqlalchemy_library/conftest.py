"""The project's fixtures: Alembic's migrations fill the template (once per machine), and
sessions sync and asyncio come from `pg_database.url(driver=...)`."""

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from pytest_boss.loaders import AlembicUpgrade


@pytest.fixture(scope="session")
def pg_template_loader(pytestconfig):
    # `alembic upgrade head` into the template, keyed by alembic.ini and the scripts.
    return AlembicUpgrade(str(pytestconfig.rootpath / "alembic.ini"))


@pytest.fixture
def session(pg_database) -> Iterator[Session]:
    engine = create_engine(pg_database.url(driver="psycopg"))
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest_asyncio.fixture
async def async_session(pg_database) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(pg_database.url(driver="asyncpg"))
    async with AsyncSession(engine) as session:
        yield session
    await engine.dispose()
