"""Test options. `pytest --update-golden` rewrites the golden files under tests/golden/
from the current code instead of comparing against them (see tests/README.md)."""
import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/* from the current code (review the diff before committing)")


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))
