"""pytest-boss: real, throwaway PostgreSQL clusters for pytest."""

__version__ = "0.1.0"
