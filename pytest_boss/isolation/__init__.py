"""Isolation: after each test, the shared cluster is back at its baseline (issue 14's
`--pg-isolation`). `snapshot` reads what a test can leave behind, `repair` undoes it,
`guard` keeps a cluster's baselines and runs the check."""

from .guard import CannotRepair, Guard, Outcome

__all__ = ["CannotRepair", "Guard", "Outcome"]
