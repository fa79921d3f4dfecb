"""pytest-boss: real, throwaway PostgreSQL clusters for pytest.

The names users annotate with are importable from here: `Cluster`, `Database`, the handle
types `ConfHandle` and `HbaHandle`, and the error classes. They are loaded on first use, so
that `import pytest_boss.boss` (the core library) stays free of the plugin and of pytest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .boss.cluster import Cluster
    from .database import Database
    from .errors import (
        BossUsageError,
        ClusterStartError,
        HbaRuleError,
        InitdbError,
        ManagedSettingError,
        MarkerError,
        OptionError,
        PytestBossError,
        SettingValueError,
        TemplateLoadError,
        UnknownSettingError,
    )
    from .handles import ConfHandle, HbaHandle

_EXPORTS = {
    "Cluster": ".boss.cluster",
    "Database": ".database",
    "ConfHandle": ".handles",
    "HbaHandle": ".handles",
    **dict.fromkeys(
        (
            "BossUsageError",
            "ClusterStartError",
            "HbaRuleError",
            "InitdbError",
            "ManagedSettingError",
            "MarkerError",
            "OptionError",
            "PytestBossError",
            "SettingValueError",
            "TemplateLoadError",
            "UnknownSettingError",
        ),
        ".errors",
    ),
}

__all__ = [
    "BossUsageError",
    "Cluster",
    "ClusterStartError",
    "ConfHandle",
    "Database",
    "HbaHandle",
    "HbaRuleError",
    "InitdbError",
    "ManagedSettingError",
    "MarkerError",
    "OptionError",
    "PytestBossError",
    "SettingValueError",
    "TemplateLoadError",
    "UnknownSettingError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Load an exported name from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
