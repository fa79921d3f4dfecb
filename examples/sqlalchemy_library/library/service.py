"""What the application does, once with a sync Session and once with an AsyncSession."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from .models import Author, Book, Loan


def add_book(session: Session, title: str, author: str) -> Book:
    found = session.scalar(select(Author).where(Author.name == author))
    book = Book(title=title, author=found or Author(name=author))
    session.add(book)
    session.flush()
    return book


def lend(session: Session, book: Book) -> Loan:
    """Lend a book; the database refuses a second open loan of the same book."""
    loan = Loan(book_id=book.id)
    session.add(loan)
    session.flush()
    return loan


async def count_books_by(session: AsyncSession, author: str) -> int:
    query = select(func.count(Book.id)).join(Author).where(Author.name == author)
    return int(await session.scalar(query) or 0)


async def add_book_async(session: AsyncSession, title: str, author: str) -> Book:
    found = await session.scalar(select(Author).where(Author.name == author))
    book = Book(title=title, author=found or Author(name=author))
    session.add(book)
    await session.flush()
    return book
