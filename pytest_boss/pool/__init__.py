"""The pool of running clusters, one module a job.

- `state`: what the pool knows about one cluster (`Pooled`, `PoolKey`, `Loaded`)
- `needs`: a test's markers checked and split into a pool key and reloadable settings
- `planner`: which running cluster to stop next (pure, no server)
- `serverfiles`: the configuration files composed, written and checked by the server
- `provision`: clusters made from the template cache, started, stopped, discarded
- `reconcile`: a cluster brought from the last test's files to the next test's
- `databases`: `pg_database`'s template database and its per-test copies
- `pool`: `ClusterPool`, which ties them together for one installation in one worker
"""

from .pool import ClusterPool
from .state import Pooled, PoolKey

__all__ = ["ClusterPool", "PoolKey", "Pooled"]
