from __future__ import annotations

import os

import pytest

from tests.runtime.conftest import mosquitto, own_mosquitto  # noqa: F401  (the broker, for every test folder)

# The tests configure iot-mock themselves: a developer's `.env` (the compose token, say) or exported
# IOT_MOCK_* variables must not reach the apps and subprocesses they start. Set before the tests import
# the settings, which read IOT_MOCK_ENV_FILE once.
for _name in [name for name in os.environ if name.startswith("IOT_MOCK_")]:
    del os.environ[_name]
os.environ["IOT_MOCK_ENV_FILE"] = ""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ from the current engine instead of comparing with it",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
