"""The boss core: create, configure and control PostgreSQL clusters.

A plain library with no pytest import, usable from scripts, a REPL or another test runner.
"""
