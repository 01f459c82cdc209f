"""iot-mock's REST control plane (Starlette). It depends on `engine`, never the other way round."""
