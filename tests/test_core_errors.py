"""Every error the boss core raises derives from one root, ``BossError``.

The classes are found by walking the core's public modules, so a new error class that
forgets the root fails here without anyone having to list it.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import pytest_boss.boss
from pytest_boss.boss import BossError
from pytest_boss.boss.cluster import ConfigWriteError
from pytest_boss.boss.config import ConfigError
from pytest_boss.boss.control import ControlWarning

pytestmark = pytest.mark.unit


def _public_exceptions() -> dict[str, type[BaseException]]:
    """``module.Name`` -> class, for each exception class a public core module exports
    (its ``__all__``, else its names without a leading underscore)."""
    found: dict[str, type[BaseException]] = {}
    modules = [pytest_boss.boss]
    for info in pkgutil.iter_modules(pytest_boss.boss.__path__):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"pytest_boss.boss.{info.name}"))
    for module in modules:
        names = getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")])
        for name in names:
            value = getattr(module, name)
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__.startswith("pytest_boss.boss")
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


PUBLIC = _public_exceptions()


def test_the_walk_finds_the_known_errors() -> None:
    names = {cls.__name__ for cls in PUBLIC.values()}
    assert {
        "BossError",
        "LineError",
        "ConfigError",
        "HBAError",
        "InstallationError",
        "ClusterError",
        "ConfigWriteError",
        "SQLError",
        "ControlError",
        "PortInUseError",
        "InitializorError",
        "PrivilegeError",
    } <= names


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_error_derives_from_the_root(name: str) -> None:
    cls = PUBLIC[name]
    if issubclass(cls, Warning):
        assert not issubclass(cls, BossError), "a warning is not an error"
    else:
        assert issubclass(cls, BossError)


def test_errors_keep_their_builtin_bases() -> None:
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConfigWriteError, OSError)
    assert issubclass(ControlWarning, UserWarning)
