"""pytest hooks of pytest-boss: options, markers, header and reports (entry point `boss`)."""

from __future__ import annotations

import pytest

from .markers import MARKERS
from .options import add_options


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker.line)
