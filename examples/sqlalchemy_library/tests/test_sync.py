"""SQLAlchemy 2 sessions (psycopg 3) on a database copied from the migrated template."""

import pytest
from library.models import Author
from library.service import add_book, lend
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError


def test_the_migrations_are_in_the_template(session):
    assert session.scalars(select(Author.name)).all() == ["Anonymous"]  # seeded by 0002
    revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert revision == "0002"


def test_books_and_authors(session):
    add_book(session, "Dune", "Frank Herbert")
    add_book(session, "Children of Dune", "Frank Herbert")
    author = session.scalars(select(Author).where(Author.name == "Frank Herbert")).one()
    assert sorted(book.title for book in author.books) == ["Children of Dune", "Dune"]


def test_one_open_loan_per_book(session):
    book = add_book(session, "Emma", "Jane Austen")
    lend(session, book)
    with pytest.raises(IntegrityError, match="one_open_loan_per_book"):
        lend(session, book)


@pytest.mark.pg_conf(statement_timeout="50ms")
def test_a_setting_for_this_test(session):
    with pytest.raises(Exception, match="statement timeout"):
        session.execute(text("SELECT pg_sleep(1)"))
