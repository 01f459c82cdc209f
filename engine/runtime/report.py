"""The run report: the ground truth a CI test compares its pipeline's results with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.contract.readings import Encoder
from engine.simulation import Simulation


def build_report(sim: Simulation, *, run_id: str, source: str, until: float, wall_seconds: float) -> dict[str, Any]:
    """Run id, scenario identity, seed, span, per-device totals and every event applied."""
    plan = sim.plan
    encoder = Encoder(plan.start_epoch)

    def stamp(t: float) -> str:
        return encoder.timestamp(t)

    devices = []
    for meter in sim.all_meters:  # removed devices too: their readings went out
        count = meter.published
        devices.append(
            {
                "device_id": meter.spec.id,
                "kind": meter.spec.kind,
                "readings": count,
                "last_seq": meter.seq - 1 if meter.seq else None,
                "energy_kwh": round(meter.energy, 6),
                "energy_reported_kwh": round(meter.energy - meter.energy_offset, 6),
                "power_kw": {
                    "min": round(meter.power_min, 6) if count else None,
                    "max": round(meter.power_max, 6) if count else None,
                    "mean": round(meter.power_sum / count, 6) if count else None,
                },
            }
        )
    return {
        "run_id": run_id,
        "scenario": {
            "name": plan.name,
            "revision": plan.revision,
            "sha256": plan.source_sha256,
            "source": source,
        },
        "seed": sim.seed,
        "start": stamp(0.0),
        "end": stamp(until),
        "duration_s": until,
        "wall_seconds": round(wall_seconds, 3),
        "readings": sim.readings_emitted,
        "energy_kwh": round(sum(meter.energy for meter in sim.all_meters), 6),
        "devices": devices,
        "events": [
            {
                "t": event.t,
                "timestamp": stamp(event.t),
                "action": event.action,
                "phase": event.phase,
                "targets": list(event.targets),
                "source": event.source,
                **({"detail": event.detail} if event.detail else {}),
            }
            for event in sim.applied
        ],
    }


def write_report(report: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
