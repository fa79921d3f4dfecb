"""Making, starting and discarding clusters: copies of the initdb template cache.

A cluster is a copy of the cache's entry for its initdb options, in a private folder of the
server user, configured with a claimed port and this run's defaults, started, and given the
run's password. Starting survives another program taking the claimed port; a server that
refuses to start with a test's settings is that test's `ClusterStartError`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from .. import admin
from ..boss.cluster import Cluster
from ..boss.control import ControlError, PortInUseError, StartupError
from ..boss.init import Initializor, InitializorError
from ..boss.installation import Installation
from ..boss.privileges import ServerUser, server_bindir
from ..errors import ClusterStartError, InitdbError, TemplateLoadError
from ..ports import claim_port
from ..template_entries import TemplateKey
from .loading import Load, TemplateSpec, load_into, read_load
from .serverfiles import PLUGIN_SETTINGS, conf_with, decode, encode, hba_with, write_server_file
from .state import Loaded, Pooled, PoolKey, read_bytes

if TYPE_CHECKING:
    from ..template import TemplateCache
    from ..workspace import Workspace

__all__ = ["BASE_INIT", "Provisioner", "start_errors"]

#: initdb options every cluster gets unless the test's pg_init says otherwise: local (socket)
#: logins are trusted (the socket folder is private), TCP logins need the run's password.
BASE_INIT: Mapping[str, object] = {"auth_local": "trust", "auth_host": "scram-sha-256"}
_START_ATTEMPTS = 5
#: Longest cluster folder that still leaves room for "/pytest-boss-XXXXXXXX/.s.PGSQL.NNNNN"
#: within a unix socket path's 107 bytes.
_SOCKET_PARENT_MAX = 70


@contextlib.contextmanager
def start_errors(settings: Mapping[str, object]) -> Iterator[None]:
    """A server that does not start with `settings` is the test's ClusterStartError (with
    the server's words); a port taken by another program stays a PortInUseError."""
    try:
        yield
    except PortInUseError:
        raise
    except StartupError as exc:
        shown = {name: str(value) for name, value in settings.items() if value is not None}
        raise ClusterStartError(shown, exc.log_tail) from None


class Provisioner:
    """Makes, starts, stops and discards the clusters of one installation in one worker."""

    def __init__(
        self,
        installation: Installation,
        workspace: Workspace,
        templates: Callable[[], TemplateCache],
    ) -> None:
        self.installation = installation
        self.workspace = workspace
        self._templates = templates
        self._serial = itertools.count(1)
        #: Port claims shared by every pytest-boss process of this user on this machine
        #: (kept beside the template cache even when the cache is off for this run).
        self.ports_dir = os.path.join(workspace.cache_root, "ports")
        #: The thread making a cluster ahead of the first test, when there is one.
        self.ahead: threading.Thread | None = None
        #: The templates this process used: loaded now, or copied from the cache.
        self.loads: list[Load] = []
        self._loads_seen: set[str] = set()
        self._failed_loads: dict[str, Exception] = {}

    @property
    def user(self) -> ServerUser:
        return self.workspace.server_user

    def make(
        self,
        init: Mapping[str, object],
        conf: Mapping[str, str],
        hba: Sequence[str],
        key: PoolKey | None,
        template: TemplateSpec | None = None,
    ) -> Pooled:
        """A new running cluster: pooled when `key` is given, else private (one test's);
        with `template`, a copy of the cache's entry whose template database it filled."""
        prefix = "c" if key is not None else "f"
        folder = self.user.make_private_dir(
            self.workspace.run_dir(), f"{prefix}{next(self._serial)}-"
        )
        pooled: Pooled | None = None
        try:
            data = os.path.join(folder, "data")
            if template is None:
                self.copy_initdb(init, data)
            else:
                self._copy_loaded(init, template, data)
            self.user.chown_tree(data)
            cluster = Cluster(
                data,
                self.installation.pg_config_dict,
                user=str(init.get("superuser", "postgres")),
                server_user=self.user,
            )
            pooled = Pooled(cluster, folder, key, init=dict(init))
            pooled.template = template.key if template is not None else None
            pooled.template_loaded = template is not None
            self._configure(pooled, conf, hba)
            with start_errors(conf):
                self.start(pooled)
            admin.set_password(cluster, self.workspace.password)
            pooled.base = pooled.snapshot()
            pooled.loaded = Loaded.now(pooled.base, admits=True)
            return pooled
        except BaseException:
            if pooled is not None:
                self.discard(pooled, keep=False)
            else:
                shutil.rmtree(folder, ignore_errors=True)
            raise

    def _configure(self, pooled: Pooled, conf: Mapping[str, str], hba: Sequence[str]) -> None:
        """Port, sockets, the run's default settings and rules, then the cluster's own."""
        options = self.workspace.options
        pooled.claim = claim_port(self.ports_dir)
        # Sockets beside the data when the path stays short enough for a unix socket.
        socket_parent = pooled.folder if len(pooled.folder) < _SOCKET_PARENT_MAX else None
        pooled.cluster.configure(
            port=pooled.claim.port,
            settings={**PLUGIN_SETTINGS, **options.conf, **conf},
            socket_parent=socket_parent,
        )
        rules = [*hba, *options.hba]
        if rules:
            text = decode(read_bytes(pooled.hba_path))
            new = hba_with(text, rules, False, self.installation.major)
            write_server_file(pooled.hba_path, encode(new), self.user)

    def template_key(self, init: Mapping[str, object]) -> TemplateKey:
        inst = self.installation
        return TemplateKey.of(inst.bindir, inst.version_string, {**BASE_INIT, **init})

    def _initdb(self, init: Mapping[str, object], holders: list[str]) -> str:
        """Run initdb for the template cache in a folder the server user can reach."""
        holder = self.user.make_private_dir(self.workspace.run_dir(), "initdb-")
        holders.append(holder)
        data = os.path.join(holder, "data")
        initdb = os.path.join(server_bindir(self.installation.bindir, self.user), "initdb")
        Initializor(initdb, user=self.user)(data, **{**BASE_INIT, **init})  # type: ignore[arg-type]
        return data

    def copy_initdb(self, init: Mapping[str, object], data: str) -> None:
        """Copy the initdb template for these options (built first when missing) to `data`."""
        holders: list[str] = []
        try:
            self._templates().copy_to(
                self.template_key(init),
                lambda: self._initdb(init, holders),
                data,
                # Made ahead: copied in another process, since the main thread is busy
                # collecting (a thread's copy would fight it for the interpreter lock).
                elsewhere=threading.current_thread() is self.ahead,
            )
        except BaseException as exc:
            for holder in holders:
                shutil.rmtree(holder, ignore_errors=True)
            if isinstance(exc, InitializorError):
                raise InitdbError(init, exc.output.strip() or str(exc)) from None
            raise
        # On success the cache owns initdb's result (it may still be storing it in the
        # background); its empty holder goes with the run folder.

    def load_failure(self, init: Mapping[str, object], spec: TemplateSpec) -> Exception | None:
        """Why loading `spec` for these initdb options failed in this run, if it did."""
        key = self.template_key(init).with_loaded(spec.key, spec.lineage)
        return self._failed_loads.get(key.digest)

    def has_loaded(self, init: Mapping[str, object], spec: TemplateSpec) -> bool:
        """Whether the cache holds the entry `spec` filled for these initdb options."""
        key = self.template_key(init).with_loaded(spec.key, spec.lineage)
        return self._templates().has(key)

    def _copy_loaded(self, init: Mapping[str, object], spec: TemplateSpec, data: str) -> None:
        """Copy the entry whose template database `spec` filled (loaded first when missing,
        once per machine, while other workers wait); a load that failed in this run is not
        tried again."""
        key = self.template_key(init).with_loaded(spec.key, spec.lineage)
        failed = self._failed_loads.get(key.digest)
        if failed is not None:
            raise TemplateLoadError(spec.label, f"it failed earlier in this run: {failed}")
        loaded_now: list[str] = []

        def load() -> str:
            made = load_into(
                spec,
                init,
                installation=self.installation,
                workspace=self.workspace,
                copy_initdb=self.copy_initdb,
            )
            loaded_now.append(made)
            return made

        try:
            self._templates().copy_to(
                key, load, data, elsewhere=threading.current_thread() is self.ahead
            )
        except BaseException as exc:
            for made in loaded_now:
                shutil.rmtree(made, ignore_errors=True)
            if isinstance(exc, Exception):
                self._failed_loads[key.digest] = exc
            raise
        if key.digest not in self._loads_seen:
            self._loads_seen.add(key.digest)
            facts = read_load(data) or {}
            seconds = facts.get("seconds")
            self.loads.append(
                Load(
                    spec.label,
                    float(seconds) if isinstance(seconds, (int, float)) else 0.0,
                    now=bool(loaded_now),
                    cached=spec.cached,
                )
            )

    def start(self, pooled: Pooled) -> None:
        """Start on the cluster's claimed port; when another program took it meanwhile, claim
        another (the pool's copy of postgresql.conf follows)."""
        for attempt in range(_START_ATTEMPTS):
            if pooled.claim is None:
                self._move(pooled)
            try:
                pooled.cluster.start(port_retries=0)
            except PortInUseError:
                assert pooled.claim is not None
                pooled.claim.release()
                pooled.claim = None
                if attempt == _START_ATTEMPTS - 1:
                    raise
                continue
            return

    def _move(self, pooled: Pooled) -> None:
        """Claim another port; the pool's copy of the files follows, and what tests want is
        computed again."""
        pooled.claim = claim_port(self.ports_dir)
        port = {"port": str(pooled.claim.port)}
        pooled.cluster.set_parameters(port)
        if pooled.base:
            pooled.base[pooled.conf_path] = conf_with(pooled.base[pooled.conf_path], port)
            pooled.wanted.clear()
            pooled.loaded = None

    def restart(self, pooled: Pooled) -> None:
        pooled.log_out()
        pooled.cluster.stop("fast")
        self.start(pooled)

    def revive(self, pooled: Pooled) -> None:
        """Start a server a test stopped, killed or moved (its old processes ended first)."""
        pooled.log_out()
        pid = pooled.cluster.pid()
        if pid is not None:
            # Dying already (killed an instant ago), or alive where we no longer look for
            # it: immediate shutdown, then SIGKILL.
            pooled.cluster.controller.kill(pid)
        self.start(pooled)

    @staticmethod
    def stop(pooled: Pooled, mode: str = "fast") -> None:
        """Stop the server; it keeps its port claim (and so its configuration) until dropped."""
        pooled.log_out()
        if pooled.cluster.running():
            pooled.cluster.stop(mode)

    def discard(self, pooled: Pooled, keep: bool | None = None) -> None:
        """Stop a cluster for good; remove its folders unless the run keeps them."""
        pooled.settle()
        keep = self.workspace.options.keep if keep is None else keep
        try:
            # Fast even when the data goes: see Cluster.drop (immediate can leak shared memory).
            self.stop(pooled, "fast")
        except ControlError:
            if pooled.cluster.running():
                pooled.cluster.stop("immediate")
        finally:
            if pooled.claim is not None:
                pooled.claim.release()
                pooled.claim = None
            if not keep:
                pooled.cluster.drop()
                shutil.rmtree(pooled.folder, ignore_errors=True)
