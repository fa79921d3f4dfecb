"""Where a test's markers become server settings: checked, then split by the server's context.

`NeedsChecker.admit` checks a test's merged markers (`markers.Needs`) as the server would
(setting names and values, hba rules, initdb options) before any file is touched, and splits
them into the `PoolKey` that selects a cluster (initdb options and postmaster-level settings)
and the reloadable settings the test's lease applies on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property

from ..boss.init import UnknownInitOptionError, check_options
from ..boss.installation import Installation
from ..errors import HbaRuleError, MarkerError
from ..markers import Needs
from ..settings import SettingsCatalog
from .state import PoolKey

__all__ = ["NeedsChecker"]


class NeedsChecker:
    """The checks of one installation, and the split of needs into key and reloadables."""

    def __init__(self, installation: Installation, cache_dir: str | None) -> None:
        self.installation = installation
        self._cache_dir = cache_dir

    @cached_property
    def catalog(self) -> SettingsCatalog:
        inst = self.installation
        return SettingsCatalog.load(inst.postgres, inst.version_string, self._cache_dir)

    @cached_property
    def checked(self) -> set[tuple[str, str]]:
        """Setting values the server accepted (in this run, or remembered from earlier ones)."""
        return self.catalog.accepted()

    def check_all(self, needs: Iterable[Needs]) -> None:
        """Check the settings of many tests with one server run, so that each test's own
        check finds its values accepted already (when the server rejects any, nothing is
        remembered: each test's check then names its culprit)."""
        pairs = [pair for one in needs for pair in one.conf.items()]
        self.catalog.check_all(pairs, cache=self.checked)

    def check_conf(self, conf: Mapping[str, str]) -> None:
        """Raise the error the server would raise for these settings."""
        self.catalog.check(conf, cache=self.checked)

    def check_hba(self, rules: Sequence[str]) -> None:
        """Raise HbaRuleError for a rule PostgreSQL would reject, naming the rule."""
        if not rules:
            return
        from ..boss import hba as pghba  # the hba parser is imported only when rules are given

        for rule in rules:
            try:
                pghba.require_version(rule, self.installation.major)
                pghba.read_config(rule, version=self.installation.major)
            except pghba.HBAError as exc:
                raise HbaRuleError(rule, exc.reason) from None

    @staticmethod
    def check_init(init: Mapping[str, object]) -> None:
        """pg_init options must be initdb options the core knows (with a "did you mean")."""
        try:
            check_options(init)
        except UnknownInitOptionError as exc:
            raise MarkerError("pg_init", "(**initdb_options)", str(exc)) from None

    def key_of(self, needs: Needs) -> tuple[PoolKey, dict[str, str]]:
        """The pool key of a test, and its reloadable settings (applied by its lease)."""
        postmaster, reloadable = self.catalog.split(needs.conf)
        key = PoolKey(needs.init_key(), tuple(sorted(postmaster.items())))
        return key, reloadable

    def admit(
        self, conf: Mapping[str, str], hba: Sequence[str], init: Mapping[str, object]
    ) -> None:
        """Every check of a cluster's needs, in the order a user fixes them."""
        self.check_init(init)
        self.check_conf(conf)
        self.check_hba(hba)
