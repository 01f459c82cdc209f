"""The run report: the ground truth a CI test compares its pipeline's results with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.model.encoding import Encoder
from engine.simulation import Simulation


def build_report(sim: Simulation, *, run_id: str, source: str, until: float, wall_seconds: float) -> dict[str, Any]:
    """Run id, scenario identity, seed, span, per-device totals and the journal of every action applied."""
    plan = sim.plan
    encoder = Encoder(plan.start_epoch)

    def stamp(t: float) -> str:
        return encoder.timestamp(t)

    devices = []
    for device in sim.all_devices:  # deleted devices too: their readings went out
        link, register = device.link, device.register
        count = link.published
        devices.append(
            {
                "device_id": device.spec.id,
                "kind": device.spec.kind,
                "readings": count,
                "last_seq": link.seq - 1 if link.seq else None,
                "energy_kwh": round(register.energy, 6),
                "energy_reported_kwh": round(register.energy - register.energy_offset, 6),
                "power_kw": {
                    "min": round(link.power_min, 6) if count else None,
                    "max": round(link.power_max, 6) if count else None,
                    "mean": round(link.power_sum / count, 6) if count else None,
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
        "energy_kwh": round(sum(device.register.energy for device in sim.all_devices), 6),
        "devices": devices,
        "events": [
            {
                "t": entry.t,
                "timestamp": stamp(entry.t),
                "action": entry.action,
                "phase": entry.phase,
                "targets": list(entry.targets),
                "source": entry.source,
                **({"params": dict(entry.params)} if entry.params else {}),
                **({"duration": entry.duration} if entry.duration is not None else {}),
            }
            for entry in sim.journal
        ],
    }


def write_report(report: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
