"""Create a PostgreSQL data directory with initdb, fast by default and locale-independent.

Defaults fit tests: ``--no-sync`` (a lost test cluster is recreated, not recovered),
``--no-instructions``, locale ``C`` with ``UTF8`` encoding, superuser ``postgres``, and the
environment in the C locale, so the machine's LANG never changes the result. As root, initdb
runs as the server user (see :mod:`.privileges`) and the data directory is given to it.

:data:`OPTIONS` declares every option once: its keyword, initdb's flag, its default.
"""

from __future__ import annotations

import difflib
import inspect
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from ._account import ServerUser, server_user
from ._errors import BossError
from ._probe import parse_version
from ._types import StrPath

__all__ = [
    "OPTIONS",
    "InitOption",
    "InitValue",
    "Initializor",
    "InitializorError",
    "UnknownInitOptionError",
    "check_options",
]

#: The value of an initdb option: text, a number, a switch, extra arguments, or ``None``
#: (initdb's own default).
InitValue = str | int | bool | Sequence[str] | None
#: The ``lc_*`` categories initdb accepts one by one.
LC_CATEGORIES = ("collate", "ctype", "messages", "monetary", "numeric", "time")


@dataclass(frozen=True)
class InitOption:
    """How one option reaches initdb's command line.

    ``kind``: ``value`` gives ``flag=value`` (``None`` leaves initdb's default); ``switch``
    gives ``flag`` when true; ``checksums`` is on, off (said explicitly where initdb defaults
    to on) or initdb's default (``None``); ``password`` is written to a private file named
    by ``flag``; ``args`` are extra arguments put last as they are.
    """

    flag: str | None
    kind: Literal["value", "switch", "checksums", "password", "args"]
    default: InitValue = None


#: Every option ``Initializor`` takes, by keyword, in command-line order.
OPTIONS: Mapping[str, InitOption] = MappingProxyType(
    {
        "superuser": InitOption("--username", "value", "postgres"),
        "password": InitOption("--pwfile", "password"),
        "auth": InitOption("--auth", "value"),
        "auth_local": InitOption("--auth-local", "value"),
        "auth_host": InitOption("--auth-host", "value"),
        "encoding": InitOption("--encoding", "value", "UTF8"),
        "locale": InitOption("--locale", "value", "C"),
        **{f"lc_{c}": InitOption(f"--lc-{c}", "value") for c in LC_CATEGORIES},
        "locale_provider": InitOption("--locale-provider", "value"),
        "icu_locale": InitOption("--icu-locale", "value"),
        "data_checksums": InitOption("--data-checksums", "checksums"),
        "wal_segsize": InitOption("--wal-segsize", "value"),
        "waldir": InitOption("--waldir", "value"),
        "allow_group_access": InitOption("--allow-group-access", "switch", False),
        "no_sync": InitOption("--no-sync", "switch", True),
        "no_instructions": InitOption("--no-instructions", "switch", True),
        "extra_args": InitOption(None, "args", ()),
    }
)


class InitializorError(BossError):
    """initdb failed; ``output`` is what it printed, ``returncode`` its exit status."""

    def __init__(
        self, data_dir: str, message: str, output: str = "", returncode: int | None = None
    ) -> None:
        self.data_dir = data_dir
        self.message = message
        self.output = output
        self.returncode = returncode
        super().__init__(message)

    def __str__(self) -> str:
        text = f"initdb of {self.data_dir} failed: {self.message}"
        if self.output.strip():
            tail = "\n".join(self.output.strip().splitlines()[-20:])
            text += f"\ninitdb said:\n{tail}"
        return text


class UnknownInitOptionError(InitializorError, TypeError):
    """An option ``Initializor`` does not know; ``unknown`` lists them, ``suggestions`` maps
    each to the known names it is closest to (a ``TypeError``, as for a wrong keyword)."""

    def __init__(self, unknown: Iterable[str]) -> None:
        self.unknown = sorted(unknown)
        self.suggestions = {
            name: difflib.get_close_matches(name, list(OPTIONS), n=3) for name in self.unknown
        }
        super().__init__("-", f"unknown initdb option {', '.join(map(repr, self.unknown))}")

    def __str__(self) -> str:
        parts = []
        for name in self.unknown:
            close = self.suggestions[name]
            hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
            parts.append(f"{name!r}{hint}")
        plural = "s" if len(parts) > 1 else ""
        return f"unknown initdb option{plural} {', '.join(parts)}; the options are: " + ", ".join(
            OPTIONS
        )


def check_options(options: Iterable[str]) -> None:
    """Raise :class:`UnknownInitOptionError` unless every name is one of :data:`OPTIONS`."""
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise UnknownInitOptionError(unknown)


def _option_args(option: InitOption, value: InitValue, major: int) -> list[str]:
    """initdb's arguments for one option's value."""
    if option.kind == "args":
        if value is None or isinstance(value, (str, int)):
            return [] if value is None else [str(value)]  # one argument
        return [str(arg) for arg in value]
    if option.kind == "switch":
        return [str(option.flag)] if value else []
    if option.kind == "checksums":
        if value:
            return [str(option.flag)]
        # PostgreSQL 18 turned checksums on by default.
        return ["--no-data-checksums"] if value is False and major >= 18 else []
    return [] if value is None else [f"{option.flag}={value}"]


class Initializor:
    """``Initializor(path)(data_dir, **options)`` runs initdb.

    ``path`` is the initdb program (a name is looked up on PATH). ``user`` is the server
    user (default: :func:`.privileges.server_user`). ``timeout`` bounds one initdb run.
    """

    def __init__(
        self,
        path: str = "initdb",
        *,
        user: ServerUser | str | None = None,
        timeout: float = 300.0,
    ) -> None:
        self.path = shutil.which(path) or path
        self.user = user if isinstance(user, ServerUser) else server_user(user)
        self.timeout = timeout
        self._major: int | None = None

    @property
    def major(self) -> int:
        """The major version of this initdb (options differ between majors)."""
        if self._major is None:
            try:
                done = self.user.run([self.path, "--version"], timeout=30)
            except (OSError, subprocess.SubprocessError) as exc:
                raise InitializorError("-", f"cannot run {self.path}: {exc}") from None
            try:
                self._major = parse_version(done.stdout)[0]
            except ValueError:
                raise InitializorError(
                    "-", f"{self.path} --version printed no version", done.stdout
                ) from None
        return self._major

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    def arguments(
        self, data_dir: str, *, pwfile: str | None = None, **options: InitValue
    ) -> list[str]:
        """The initdb command line for :data:`OPTIONS` (defaults for those not given; a value
        of ``None`` leaves initdb's default). ``pwfile`` names the password file."""
        check_options(options)
        args = [self.path, "-D", data_dir]
        for name, option in OPTIONS.items():
            if option.kind == "password":
                args += [] if pwfile is None else [f"{option.flag}={pwfile}"]
                continue
            value = options.get(name, option.default)
            if option.kind == "checksums" and value is False:
                args += _option_args(option, value, self.major)
            else:
                args += _option_args(option, value, 0)
        return args

    def __call__(self, data_dir: StrPath, **options: InitValue) -> str:
        """Create the cluster in ``data_dir`` (absent, or an empty folder); return initdb's output.

        ``options`` are :data:`OPTIONS`; an unknown one raises :class:`UnknownInitOptionError`
        before anything is made. ``password`` is the superuser's, handed over in a private
        file (removed afterwards), never on the command line.
        """
        check_options(options)
        data = self._prepare(os.path.abspath(os.fspath(data_dir)))
        password = options.pop("password", None)
        pw_holder = None if password is None else self._password_file(str(password))
        try:
            pwfile = None if pw_holder is None else os.path.join(pw_holder, "pw")
            done = self._run(data, self.arguments(data, pwfile=pwfile, **options))
        finally:
            if pw_holder is not None:
                shutil.rmtree(pw_holder, ignore_errors=True)
        if done.returncode != 0:
            raise InitializorError(
                data, f"initdb exited with status {done.returncode}", done.stdout, done.returncode
            )
        return done.stdout

    def _prepare(self, data: str) -> str:
        """Make ``data`` an empty folder of the server user, reachable by it."""
        parent = os.path.dirname(data)
        if not os.path.isdir(parent):
            raise InitializorError(data, f"the parent folder {parent} does not exist")
        if os.path.lexists(data):
            if not os.path.isdir(data) or os.listdir(data):
                raise InitializorError(data, "the folder exists and is not empty")
        else:
            os.mkdir(data, 0o700)
        self.user.chown(data)
        if not self.user.can_traverse(data):
            raise InitializorError(
                data,
                f"the server user {self.user.name!r} cannot reach this folder (a parent folder "
                "is private); use Cluster.create, which places the data where it can",
            )
        return data

    def _password_file(self, password: str) -> str:
        """A private folder holding the file ``pw`` with ``password``, readable by the server
        user only; the caller removes the folder."""
        holder = self.user.make_private_dir(tempfile.gettempdir(), "pytest-boss-pw-")
        pwfile = os.path.join(holder, "pw")
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fo:
            fo.write(password + "\n")
        self.user.chown(pwfile)
        return holder

    def _run(self, data: str, args: list[str]) -> subprocess.CompletedProcess[str]:
        """Run initdb as the server user, bounded by ``timeout``."""
        try:
            return self.user.run(args, timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            out = exc.output if isinstance(exc.output, str) else ""
            raise InitializorError(
                data, f"initdb did not finish within {self.timeout:g} s", out
            ) from None
        except OSError as exc:
            raise InitializorError(data, f"cannot run {self.path}: {exc.strerror or exc}") from None


def _call_signature() -> inspect.Signature:
    """``Initializor.__call__`` as callers see it: ``data_dir`` and every option of
    :data:`OPTIONS` as a keyword with its default, for ``help()`` and ``inspect``."""
    kw = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("data_dir", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        *(inspect.Parameter(name, kw, default=o.default) for name, o in OPTIONS.items()),
    ]
    return inspect.Signature(parameters, return_annotation=str)


Initializor.__call__.__signature__ = _call_signature()  # type: ignore[attr-defined]
