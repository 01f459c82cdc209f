from tests.runtime.conftest import mosquitto, own_mosquitto

__all__ = ["mosquitto", "own_mosquitto"]
