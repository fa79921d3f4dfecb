"""Floor: pytest with pytest-boss loaded, one test that needs no server."""


def test_nothing() -> None:
    """Measures interpreter, pytest and plugin start-up, nothing else."""
