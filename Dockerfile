# iot-mock as a container: `iot-mock serve` on 0.0.0.0:8090, configured through IOT_MOCK_* variables.
#
#   docker build -t iot-mock .
#   docker run --rm -p 127.0.0.1:8090:8090 -e IOT_MOCK_API_TOKEN=... -e IOT_MOCK_MQTT_URL=mqtt://broker:1883 iot-mock
#
# BASE_IMAGE is any Debian-like image with python3 >= 3.11: the official python:3.11-slim by default,
# or one made locally from Debian's packages (deploy/docker/base-image builds iot-mock-base:bookworm).
ARG BASE_IMAGE=python:3.11-slim

# Build: the wheel of iot-mock, installed with its dependencies (all binary wheels) into a venv.
FROM ${BASE_IMAGE} AS build
LABEL iot-mock-stage=build
# Debian's own python3 keeps venv apart (python3-venv); the python images have it built in.
RUN { python3 -m venv /opt/probe >/dev/null 2>&1 || { apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; }; } \
    && rm -rf /opt/probe
WORKDIR /src
COPY pyproject.toml README.md ./
COPY engine engine
COPY api api
COPY iot_mock iot_mock
COPY scenarios scenarios
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --disable-pip-version-check -q build \
    && /opt/build/bin/python -m build --wheel --outdir /wheels . \
    && python3 -m venv --without-pip /opt/iot-mock \
    && /opt/build/bin/pip --python /opt/iot-mock/bin/python install --no-cache-dir --disable-pip-version-check -q \
       /wheels/iot_mock-*.whl \
    && find /opt/iot-mock -name __pycache__ -prune -exec rm -rf {} +

# Runtime: the base image and the venv; no compiler, no pip, no test tooling.
FROM ${BASE_IMAGE}
# The python images ship pip, setuptools and wheel: not needed to run, so not kept.
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin iot-mock \
    && { python3 -m pip uninstall -y -q pip setuptools wheel >/dev/null 2>&1 || true; }
COPY --from=build /opt/iot-mock /opt/iot-mock
ENV PATH=/opt/iot-mock/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    IOT_MOCK_API_HOST=0.0.0.0 \
    IOT_MOCK_API_PORT=8090
# Off loopback the API refuses to start without IOT_MOCK_API_TOKEN (16+ characters): pass one.
USER 10001:10001
WORKDIR /home/iot-mock
EXPOSE 8090
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('IOT_MOCK_API_PORT', '8090') + '/health', timeout=3)"]
ENTRYPOINT ["iot-mock"]
CMD ["serve"]
