"""The pool's planner: which running cluster to stop when another must start (no server)."""

from __future__ import annotations

import math

import pytest

from pytest_boss.pool.planner import Planner

pytestmark = pytest.mark.unit


def test_without_a_plan_the_least_recently_used_goes() -> None:
    planner = Planner()
    # Running keys, least recently used first; room for 2, so one of the 2 must go.
    assert planner.to_stop(["a", "b"], capacity=2) == ["a"]


def test_room_left_stops_nothing() -> None:
    assert Planner().to_stop(["a"], capacity=3) == []


def test_capacity_one_stops_every_running_cluster() -> None:
    assert Planner().to_stop(["a", "b", "c"], capacity=1) == ["a", "b", "c"]


def test_the_one_needed_again_latest_goes_first() -> None:
    planner = Planner()
    # Test order: a b c a b a  -> after the first three, a is needed next, then b; c never.
    planner.plan(["a", "b", "c", "a", "b", "a"])
    for key in ("a", "b", "c"):
        planner.advance(key)
    assert planner.next_use("a") == 0
    assert planner.next_use("b") == 1
    assert planner.next_use("c") == math.inf
    # c was used most recently, yet it is the one to stop: nobody needs it again.
    assert planner.to_stop(["a", "b", "c"], capacity=3) == ["c"]
    assert planner.to_stop(["a", "b", "c"], capacity=2) == ["c", "b"]


def test_equal_needs_fall_back_to_least_recently_used() -> None:
    planner = Planner()
    planner.plan(["x", "y", "z"])
    for key in ("x", "y", "z"):
        planner.advance(key)
    # None of them is needed again: the order given (least recent first) decides.
    assert planner.to_stop(["y", "x", "z"], capacity=2) == ["y", "x"]


def test_unknown_keys_in_the_plan_are_skipped() -> None:
    planner = Planner()
    planner.plan(["a", None, "b"])
    planner.advance("a")
    assert planner.next_use("b") == 1  # the test in between (None) still counts
    assert planner.planned


def test_a_key_run_out_of_order_moves_the_position_past_it() -> None:
    planner = Planner()
    planner.plan(["a", "b", "a", "c"])
    planner.advance("c")  # -k or a rerun: c came first
    assert planner.next_use("a") == math.inf
    assert planner.next_use("c") == math.inf
