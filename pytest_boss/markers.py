"""The markers' signatures, and what one test needs from its cluster once they are merged.

A marker's arguments are checked by calling a plain function with them, so Python reports a
wrong call; `needs_of` merges module, class and function markers (the closest wins) with the
run's defaults into one `Needs`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from .boss.config import Value
from .errors import MarkerError

__all__ = [
    "MARKERS",
    "Needs",
    "needs_of",
    "pg_conf_signature",
    "pg_hba_signature",
    "pg_init_signature",
    "setting_text",
]


def setting_text(value: object) -> str:
    """A setting's value as PostgreSQL reads it from a file: bools are on/off."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (str, int, float)):
        return str(value)
    kind = type(value).__name__
    raise TypeError(f"a setting's value must be str, int, float or bool, not {kind}")


def pg_conf_signature(
    mapping: Mapping[str, Value] | None = None, /, **settings: Value
) -> dict[str, str]:
    """Settings of this test's cluster: keywords, or a dict for dotted names."""
    merged: dict[str, Value] = {}
    if mapping is not None:
        if not isinstance(mapping, Mapping):
            raise TypeError(
                f"the positional argument must be a dict of settings, not {type(mapping).__name__}"
            )
        merged.update(mapping)
    merged.update(settings)
    result: dict[str, str] = {}
    for name, value in merged.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"a setting name must be a non-empty str, not {name!r}")
        try:
            result[name.lower()] = setting_text(value)
        except TypeError as exc:
            raise TypeError(f"{name}: {exc}") from None
    return result


def pg_hba_signature(*rules: str, replace: bool = False) -> tuple[tuple[str, ...], bool]:
    """pg_hba.conf lines for this test, before the default rules or instead of them."""
    for rule in rules:
        if not isinstance(rule, str):
            raise TypeError(f"each rule must be a str (one pg_hba.conf line), not {rule!r}")
    if not isinstance(replace, bool):
        raise TypeError(f"replace must be True or False, not {replace!r}")
    return tuple(rules), replace


def pg_init_signature(**initdb_options: object) -> dict[str, object]:
    """initdb options (as Initializor takes them) for this test's cluster."""
    return dict(initdb_options)


def pg_replicas_signature(n: int = 1, /, *, synchronous: bool = False) -> tuple[int, bool]:
    """How many standbys of this test's cluster `pg_replicas` gives, and whether the
    primary waits for them at every commit."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise TypeError(f"the number of standbys must be a whole number >= 1, not {n!r}")
    if not isinstance(synchronous, bool):
        raise TypeError(f"synchronous must be True or False, not {synchronous!r}")
    return n, synchronous


def _signature_text(function: Callable[..., object]) -> str:
    """The signature as a user writes the marker: names and defaults, no annotations."""
    signature = inspect.signature(function)
    bare = [p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=bare, return_annotation=inspect.Signature.empty))


@dataclass(frozen=True)
class MarkerSpec:
    name: str
    function: Callable[..., object]
    description: str

    @property
    def line(self) -> str:
        """The `markers` ini line: full signature, then one sentence."""
        return f"{self.name}{_signature_text(self.function)}: {self.description}"


MARKERS: tuple[MarkerSpec, ...] = (
    MarkerSpec(
        "pg_conf",
        pg_conf_signature,
        "postgresql.conf settings for this test's pg_cluster (keywords, or a dict for dotted "
        "names); module, class and function markers merge, the closest wins.",
    ),
    MarkerSpec(
        "pg_hba",
        pg_hba_signature,
        "pg_hba.conf rules for this test's pg_cluster, placed before the default rules, or "
        "instead of them with replace=True.",
    ),
    MarkerSpec(
        "pg_init",
        pg_init_signature,
        "initdb options for this test's pg_cluster (encoding, locale, data_checksums, ...).",
    ),
    MarkerSpec(
        "pg_replicas",
        pg_replicas_signature,
        "running hot standbys of this test's pg_cluster, given by the pg_replicas fixture "
        "and removed after the test.",
    ),
)
_SPECS = {spec.name: spec for spec in MARKERS}


def call_marker(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """Call the signature function of marker `name`; a TypeError becomes a MarkerError."""
    spec = _SPECS[name]
    try:
        return spec.function(*args, **kwargs)
    except TypeError as exc:
        reason = str(exc).replace(f"{spec.function.__name__}()", name)
        raise MarkerError(name, _signature_text(spec.function), reason) from None


@dataclass(frozen=True)
class Needs:
    """What one test needs from its cluster: settings, hba rules, initdb options."""

    conf: Mapping[str, str] = field(default_factory=dict)
    hba: tuple[str, ...] = ()
    hba_replace: bool = False
    init: Mapping[str, object] = field(default_factory=dict)

    def init_key(self) -> tuple[tuple[str, str], ...]:
        """initdb options as a hashable, order-free key."""
        return tuple(sorted((name, repr(value)) for name, value in self.init.items()))


def _farthest_first(item: pytest.Item, name: str) -> list[pytest.Mark]:
    # iter_markers yields the closest node's markers first: reverse once, here.
    return list(item.iter_markers(name))[::-1]


def needs_of(
    item: pytest.Item,
    default_conf: Mapping[str, str] | None = None,
    default_hba: Iterable[str] = (),
) -> Needs:
    """Merge the run's defaults with the test's markers, from farthest to closest.

    Settings and initdb options: the closest value wins. hba rules: the closest marker's rules
    come first (pg_hba.conf is first-match), then the farther ones, then the run's defaults;
    replace=True on any level drops the server's default rules.
    """
    conf: dict[str, str] = dict(default_conf or {})
    for mark in _farthest_first(item, "pg_conf"):
        conf.update(call_marker("pg_conf", mark.args, mark.kwargs))
    init: dict[str, object] = {}
    for mark in _farthest_first(item, "pg_init"):
        init.update(call_marker("pg_init", mark.args, mark.kwargs))
    rules: list[str] = list(default_hba)
    replace = False
    for mark in _farthest_first(item, "pg_hba"):
        marker_rules, marker_replace = call_marker("pg_hba", mark.args, mark.kwargs)
        rules[:0] = marker_rules
        replace = replace or marker_replace
    return Needs(conf=conf, hba=tuple(rules), hba_replace=replace, init=init)
