"""`GET /metrics`: the live run in Prometheus text, following prometheus-client's conventions.

Monotonic counts are counters (`_total`); levels are gauges; the publish lag is a summary with
`quantile` labels. The outbox invariant `generated = delivered + buffered + dropped` holds between
`iot_mock_readings_{generated,delivered,dropped}_total` and the gauge `iot_mock_readings_buffered`.
After a stop the metrics describe the last run, with `iot_mock_running` 0, so a scrape never fails.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from api.conductor import Conductor
from api.routes import conductor
from api.routing import Operation

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
QUANTILES = (0.5, 0.99)


class RunCollector(Collector):
    """Reads the conductor's current (or last) run at scrape time; nothing is kept between scrapes."""

    def __init__(self, keeper: Conductor) -> None:
        self.keeper = keeper

    def collect(self) -> Iterator[Metric]:
        keeper = self.keeper
        yield GaugeMetricFamily("iot_mock_running", "1 while a simulation runs", value=keeper.current is not None)
        live = keeper.live
        if live is None:
            return
        outbox, bridge = live.bridge.outbox, live.bridge
        for state, text in (("generated", "produced"), ("delivered", "acknowledged by the broker"),
                            ("dropped", "dropped from a full outbox (the oldest first)")):  # fmt: skip
            yield CounterMetricFamily(f"iot_mock_readings_{state}", f"Readings {text}", value=getattr(outbox, state))
        yield GaugeMetricFamily("iot_mock_readings_buffered", "Readings waiting in the outbox", value=outbox.buffered)
        by_source = {"mqtt": bridge.commands.counts(), "rest": keeper.rest_commands.counts()}
        for outcome in ("received", "applied", "rejected"):
            family = CounterMetricFamily(f"iot_mock_commands_{outcome}", f"Commands {outcome}", labels=["source"])
            for source, counts in by_source.items():
                family.add_metric([source], getattr(counts, outcome))
            yield family
        inbox = live.inbox
        changes = CounterMetricFamily("iot_mock_changes", "External changes the run's driver took", labels=["outcome"])
        changes.add_metric(["applied"], inbox.applied)  # applied or refused by the simulation (bad target...)
        changes.add_metric(["refused"], inbox.rejected)  # busy, or the run had ended
        yield changes
        yield GaugeMetricFamily(
            "iot_mock_changes_waiting", "External changes waiting for the driver", value=inbox.pending
        )
        yield CounterMetricFamily("iot_mock_mqtt_connections", "MQTT connections made", value=bridge.connections)
        lag = Metric("iot_mock_publish_lag_seconds", "Publish time minus due time of recent readings", "summary")
        for quantile in QUANTILES:
            value = outbox.lag.percentile(quantile * 100)
            if value is not None:
                lag.add_sample("iot_mock_publish_lag_seconds", {"quantile": str(quantile)}, value)
        yield lag
        yield GaugeMetricFamily("iot_mock_publish_lag_max_seconds", "Largest publish lag", value=outbox.lag.maximum)
        yield GaugeMetricFamily("iot_mock_devices", "Simulated devices", value=len(live.sim.devices))
        yield GaugeMetricFamily("iot_mock_sim_time_seconds", "Simulated time since the start", value=live.sim.now)
        yield GaugeMetricFamily("iot_mock_mqtt_connected", "1 when connected to the broker", value=bridge.connected)
        yield GaugeMetricFamily(
            "iot_mock_behind_seconds", "Wall seconds the run is behind its clock", value=live.pacing.behind_seconds
        )
        yield CounterMetricFamily(
            "iot_mock_fell_behind", "Times the run fell behind its clock (by over a second)", value=live.pacing.episodes
        )


async def metrics(request: Request) -> Response:
    """Prometheus metrics: readings by outcome, commands by source, publish lag, devices, sim time."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(conductor(request)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)


METRICS_ROUTES = [Operation("GET", "/metrics", metrics)]
