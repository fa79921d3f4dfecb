"""The seed's API: every name of the pg_boss 1.0dev document exists, with its signature.

The document (``tests/data/pg_boss-1.0dev-api.txt``, a copy of the seed) is parsed here:
each module's classes, methods, functions and data. For every function and method, our
positional parameters must begin with the seed's, same names in the same order, and a
default the seed gives must be ours too; extra parameters come after them or are
keyword-only. Behaviours the seed implies are checked below the signatures.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_boss.boss import config, hba

SEED = Path(__file__).parent / "data" / "pg_boss-1.0dev-api.txt"
PACKAGE = "postgresql.backend.boss"

#: Defaults the project chose to differ from the seed's, and why (a user may rely on these).
DEFAULT_DEVIATIONS = {
    ("control", "pg_ctl.stop", "mode"): "test servers are stopped fast (see README)",
    ("control", "pg_ctl.restart", "mode"): "restarted fast, as they are stopped",
}
#: Signatures another branch brings to the seed's order; checked, failures expected here.
PENDING: dict[tuple[str, str], str] = {}


@dataclass
class Def:
    """One ``def`` of the document: where it is, its parameters and their defaults."""

    module: str
    owner: str | None  # the class for a method
    name: str
    params: list[tuple[str, Any]] = field(default_factory=list)  # (name, default or NO)
    classmethod: bool = False

    @property
    def qualname(self) -> str:
        return f"{self.owner}.{self.name}" if self.owner else self.name


NO = object()


def _params(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        name, eq, default = part.partition("=")
        out.append((name.strip(), ast.literal_eval(default.strip()) if eq else NO))
    return out


def parse_seed(text: str) -> tuple[list[Def], dict[str, list[str]], dict[str, dict[str, Any]]]:
    """(defs, classes per module, data per module) of the seed document."""
    # A section header is a line of its own; the same words occur in docstrings.
    marked = re.sub(
        r"^(class methods|methods|functions|data|imports|classes)$",
        r"@@\1@@",
        text,
        flags=re.MULTILINE,
    )
    joined = re.sub(r"\s*\n\s*", " ", marked)
    defs: list[Def] = []
    classes: dict[str, list[str]] = {}
    data: dict[str, dict[str, Any]] = {}
    token = re.compile(
        r"module (?P<module>[\w.]+)"
        r"|class (?P<cls>\w+)\((?P<bases>[\w, ]*)\):"
        r"|@@(?P<section>class methods|methods|functions|data|imports|classes)@@"
        r"|def (?P<def>\w+)\((?P<params>[^)]*)\):"
        r"|(?P<dname>[A-Za-z_]\w*) = (?P<dvalue>u?'[^']*'|u?\"[^\"]*\")"
    )
    module = owner = section = None
    for m in token.finditer(joined):
        if m["module"]:
            module = m["module"].removeprefix(PACKAGE + ".")
            owner = section = None
        elif m["cls"] and module:
            owner = m["cls"]
            classes.setdefault(module, []).append(owner)
        elif m["section"]:
            section = m["section"]
            if section == "functions":
                owner = None
        elif m["def"] and module:
            method = section in ("methods", "class methods")
            params = _params(m["params"])
            defs.append(
                Def(
                    module,
                    owner if method else None,
                    m["def"],
                    params[1:] if method else params,
                    section == "class methods",
                )
            )
        elif m["dname"] and module and section == "data":
            data.setdefault(module, {})[m["dname"]] = ast.literal_eval(m["dvalue"])
    return defs, classes, data


DEFS, CLASSES, DATA = parse_seed(SEED.read_text())


def _module(name: str) -> Any:
    return importlib.import_module(f"pytest_boss.boss.{name}")


def test_the_document_is_parsed() -> None:
    """The parser found what the document holds (a parser that finds nothing proves nothing)."""
    assert set(CLASSES) == {"control", "cluster", "init", "hba"}
    assert len(DEFS) == SEED.read_text().count("def ")  # none missed
    assert len([d for d in DEFS if d.module == "hba"]) == 19  # 15 methods, 4 functions
    assert [d.name for d in DEFS if d.classmethod] == ["create"]
    assert DATA["config"] == {"comment": "#", "quote": "'"}
    assert DATA["hba"] == {"comment": "#", "separator": " \t"}


@pytest.mark.parametrize(
    "module, cls",
    [(m, c) for m, names in CLASSES.items() for c in names],
    ids=lambda v: str(v),
)
def test_class_exists(module: str, cls: str) -> None:
    assert inspect.isclass(getattr(_module(module), cls))


@pytest.mark.parametrize(
    "module, name, value",
    [(m, n, v) for m, values in DATA.items() for n, v in values.items()],
    ids=lambda v: repr(v),
)
def test_data(module: str, name: str, value: Any) -> None:
    assert getattr(_module(module), name) == value


def _ours(d: Def) -> Any:
    where = _module(d.module)
    if d.owner is None:
        return getattr(where, d.name)
    cls = getattr(where, d.owner)
    if d.name == "__repr__":  # inherited from object is not a repr of its own
        assert any("__repr__" in vars(k) for k in cls.__mro__[:-1]), f"{d.owner} has no repr"
    return getattr(cls, d.name)


@pytest.mark.parametrize("d", DEFS, ids=lambda d: f"{d.module}.{d.qualname}")
def test_signature(d: Def) -> None:
    """Names and order of the seed's parameters, then its defaults; extras after them."""
    pending = PENDING.get((d.module, d.qualname))
    try:
        _check_signature(d)
    except AssertionError:
        if pending:
            pytest.xfail(pending)
        raise


def _check_signature(d: Def) -> None:
    ours = _ours(d)
    assert callable(ours)
    sig = inspect.signature(ours)
    params = list(sig.parameters.values())
    if d.owner is not None and not d.classmethod and params[:1] and params[0].name == "self":
        params = params[1:]
    if d.classmethod:
        assert isinstance(
            inspect.getattr_static(getattr(_module(d.module), d.owner), d.name), classmethod
        )
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    want = [name for name, _ in d.params]
    assert [p.name for p in positional[: len(want)]] == want, f"ours: {sig}"
    for p in positional[len(want) :]:
        assert p.default is not p.empty, f"extra parameter {p.name} needs a default: {sig}"
    for (name, default), p in zip(d.params, positional, strict=False):
        if default is NO or (d.module, d.qualname, name) in DEFAULT_DEVIATIONS:
            continue
        assert p.default == default, f"{name}: seed {default!r}, ours {p.default!r}"


# -- behaviours ------------------------------------------------------------------------------

LINES = [
    "# TYPE  DATABASE  USER  ADDRESS       METHOD\n",
    "local   all       all                 peer\n",
    "host    all       all   127.0.0.1/32  md5  # loopback\n",
    "\n",
    "host    db        app   10.0.0.0/8    scram-sha-256\n",
]


def test_sequence_takes_an_iterable_of_lines() -> None:
    seq = hba.Sequence(LINES)
    assert [e.method for e in seq] == ["peer", "md5", "scram-sha-256"]
    assert seq.text() == "".join(LINES)
    assert len(hba.Sequence(iter(LINES))) == 3
    assert len(hba.Sequence(io.StringIO("".join(LINES)))) == 3
    assert len(hba.Sequence()) == 0


def test_sequence_checks_what_it_reads() -> None:
    with pytest.raises(hba.HBAError, match='invalid authentication method "nope"'):
        hba.Sequence(["local all all nope\n"])


def test_read_config_adds_to_a_sequence() -> None:
    seq = hba.Sequence(LINES[:3])
    same = hba.read_config(["host all all ::1/128 trust\n"], seq)
    assert same is seq
    assert [e.method for e in seq] == ["peer", "md5", "trust"]
    assert seq.text() == "".join(LINES[:3]) + "host all all ::1/128 trust\n"


def test_read_config_selector_keeps_what_it_accepts() -> None:
    seq = hba.read_config(LINES, selector=lambda e: e.type == "host")
    assert [e.method for e in seq] == ["md5", "scram-sha-256"]
    assert "peer" not in seq.text()
    assert seq.text().startswith("# TYPE")  # comments stay


def test_read_config_checks_records_the_selector_drops() -> None:
    with pytest.raises(hba.HBAError) as info:
        hba.read_config([*LINES, "hostx all all 10.0.0.0/8 md5\n"], selector=lambda e: False)
    assert info.value.lineno == 6


def test_write_config_writes_plain_records() -> None:
    out: list[str] = []
    hba.write_config(hba.Sequence(LINES), out.append)
    assert out == [
        "local all all peer\n",
        "host all all 127.0.0.1/32 md5\n",
        "host db app 10.0.0.0/8 scram-sha-256\n",
    ]
    buffer = io.StringIO()
    hba.write_config(["local all all trust"], buffer)
    assert buffer.getvalue() == "local all all trust\n"


def test_write_config_checks_records() -> None:
    with pytest.raises(hba.HBAError):
        hba.write_config(["local all all"], io.StringIO())


def test_pop_takes_the_first_record_by_default() -> None:
    seq = hba.Sequence(LINES)
    assert seq.pop().method == "peer"
    assert seq.pop(-1).method == "scram-sha-256"
    assert [e.method for e in seq] == ["md5"]


def test_config_data_is_what_the_functions_use() -> None:
    line = "work_mem = '4MB'  # note"
    assert config.parse_line(line, comment=config.comment, quote=config.quote) == (
        config.parse_line(line)
    )
    assert config.quote_value("it's") == "'it''s'"
    assert config.unquote("'it''s'") == "it's"
    assert hba.parse_line("host all all 10.0.0.0/8 md5", hba.separator, hba.comment) == [
        "host",
        "all",
        "all",
        "10.0.0.0/8",
        "md5",
    ]
