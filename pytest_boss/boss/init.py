"""Create a PostgreSQL data directory with initdb, fast by default and locale-independent.

Defaults fit tests: ``--no-sync`` (a lost test cluster is recreated, not recovered),
``--no-instructions``, locale ``C`` with ``UTF8`` encoding, superuser ``postgres``, and the
environment in the C locale, so the machine's LANG never changes the result. As root, initdb
runs as the server user (see :mod:`.privileges`) and the data directory is given to it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence

from ._errors import BossError
from ._types import StrPath
from .installation import parse_version
from .privileges import ServerUser, server_user

__all__ = ["Initializor", "InitializorError"]


#: The ``lc_*`` categories initdb accepts one by one.
LC_CATEGORIES = ("collate", "ctype", "messages", "monetary", "numeric", "time")


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

    def arguments(
        self,
        data_dir: str,
        *,
        superuser: str = "postgres",
        auth: str | None = None,
        auth_local: str | None = None,
        auth_host: str | None = None,
        pwfile: str | None = None,
        encoding: str | None = "UTF8",
        locale: str | None = "C",
        lc_collate: str | None = None,
        lc_ctype: str | None = None,
        lc_messages: str | None = None,
        lc_monetary: str | None = None,
        lc_numeric: str | None = None,
        lc_time: str | None = None,
        locale_provider: str | None = None,
        icu_locale: str | None = None,
        data_checksums: bool | None = None,
        wal_segsize: int | None = None,
        waldir: str | None = None,
        allow_group_access: bool = False,
        no_sync: bool = True,
        no_instructions: bool = True,
        extra_args: Sequence[str] = (),
    ) -> list[str]:
        """The initdb command line for these options (``None`` leaves initdb's default)."""
        args = [self.path, "-D", data_dir, "-U", superuser]
        for flag, value in (
            ("--auth", auth),
            ("--auth-local", auth_local),
            ("--auth-host", auth_host),
            ("--pwfile", pwfile),
            ("--encoding", encoding),
            ("--locale", locale),
            ("--locale-provider", locale_provider),
            ("--icu-locale", icu_locale),
            ("--waldir", waldir),
        ):
            if value is not None:
                args.append(f"{flag}={value}")
        lc = (lc_collate, lc_ctype, lc_messages, lc_monetary, lc_numeric, lc_time)
        for category, value in zip(LC_CATEGORIES, lc):
            if value is not None:
                args.append(f"--lc-{category}={value}")
        if data_checksums:
            args.append("--data-checksums")
        elif data_checksums is False and self.major >= 18:
            # PostgreSQL 18 turned checksums on by default.
            args.append("--no-data-checksums")
        if wal_segsize is not None:
            args.append(f"--wal-segsize={int(wal_segsize)}")
        if allow_group_access:
            args.append("--allow-group-access")
        if no_sync:
            args.append("--no-sync")
        if no_instructions:
            args.append("--no-instructions")
        args.extend(extra_args)
        return args

    def __call__(
        self,
        data_dir: StrPath,
        *,
        password: str | None = None,
        superuser: str = "postgres",
        auth: str | None = None,
        auth_local: str | None = None,
        auth_host: str | None = None,
        encoding: str | None = "UTF8",
        locale: str | None = "C",
        lc_collate: str | None = None,
        lc_ctype: str | None = None,
        lc_messages: str | None = None,
        lc_monetary: str | None = None,
        lc_numeric: str | None = None,
        lc_time: str | None = None,
        locale_provider: str | None = None,
        icu_locale: str | None = None,
        data_checksums: bool | None = None,
        wal_segsize: int | None = None,
        waldir: str | None = None,
        allow_group_access: bool = False,
        no_sync: bool = True,
        no_instructions: bool = True,
        extra_args: Sequence[str] = (),
    ) -> str:
        """Create the cluster in ``data_dir`` (absent, or an empty folder); return initdb's output.

        ``password`` is the superuser's, handed over in a private file (removed afterwards),
        never on the command line.
        """
        data = os.path.abspath(os.fspath(data_dir))
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
        pw_holder = None
        try:
            pwfile = None
            if password is not None:
                pw_holder = self.user.make_private_dir(tempfile.gettempdir(), "pytest-boss-pw-")
                pwfile = os.path.join(pw_holder, "pw")
                fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fo:
                    fo.write(password + "\n")
                self.user.chown(pwfile)
            args = self.arguments(
                data,
                superuser=superuser,
                auth=auth,
                auth_local=auth_local,
                auth_host=auth_host,
                pwfile=pwfile,
                encoding=encoding,
                locale=locale,
                lc_collate=lc_collate,
                lc_ctype=lc_ctype,
                lc_messages=lc_messages,
                lc_monetary=lc_monetary,
                lc_numeric=lc_numeric,
                lc_time=lc_time,
                locale_provider=locale_provider,
                icu_locale=icu_locale,
                data_checksums=data_checksums,
                wal_segsize=wal_segsize,
                waldir=waldir,
                allow_group_access=allow_group_access,
                no_sync=no_sync,
                no_instructions=no_instructions,
                extra_args=extra_args,
            )
            try:
                done = self.user.run(args, timeout=self.timeout)
            except subprocess.TimeoutExpired as exc:
                out = exc.output if isinstance(exc.output, str) else ""
                raise InitializorError(
                    data, f"initdb did not finish within {self.timeout:g} s", out
                ) from None
            except OSError as exc:
                raise InitializorError(
                    data, f"cannot run {self.path}: {exc.strerror or exc}"
                ) from None
        finally:
            if pw_holder is not None:
                shutil.rmtree(pw_holder, ignore_errors=True)
        if done.returncode != 0:
            raise InitializorError(
                data, f"initdb exited with status {done.returncode}", done.stdout, done.returncode
            )
        return done.stdout
