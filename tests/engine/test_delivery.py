"""Delivery faults in files: `duplicate`, `out_of_order` and store-and-forward (a device `buffer`).

Each changes when and how often a reading leaves, never its values: the readings of a run with the
fault are those of the same run without it (same timestamps, values and `seq`), sent otherwise.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np

from engine import parse_scenario
from engine.contract.readings import Encoder
from engine.model.readings import Chunk, ReadingBatch
from engine.runtime.report import DeviceTotals, build_report
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from tests.helpers import command, scenario_text, simulate

DEVICES = "devices: [{id: ac, kind: hvac, interval: 10s}, {id: oven, kind: appliance, interval: 1s}]\n"
HOUR = 3600.0


def lines(sink: MemorySink, sim: Simulation) -> list[bytes]:
    """The run's JSON lines in the order they were sent."""
    encoder = Encoder(sim.plan.start_epoch)
    return [line for batch in sink.batches for line in encoder.jsonl(batch).splitlines()]


def totals(sim: Simulation) -> dict[str, DeviceTotals]:
    report = build_report(sim, run_id="r", source="t.yaml", until=sim.now, wall_seconds=0.0)
    return {device["device_id"]: device for device in report["devices"]}


def key(line: bytes) -> tuple[str, int]:
    reading = json.loads(line)
    return reading["device_id"], reading["seq"]


def test_a_duplicated_reading_is_its_twin_and_nothing_else_changes() -> None:
    events = 'events: [{at: "+1h", action: duplicate, target: all, probability: 0.2, duration: 1h}]\n'
    plain_sim, plain = simulate(scenario_text(DEVICES), 3 * HOUR)
    sim, sink = simulate(scenario_text(DEVICES + events), 3 * HOUR)
    sent, truth = lines(sink, sim), lines(plain, plain_sim)
    assert list(dict.fromkeys(sent)) == truth  # without the second copies: the plain run, in its order
    copies = Counter(sent)
    doubled = [line for line, count in copies.items() if count == 2]
    assert set(copies.values()) == {1, 2}
    for line in doubled:  # the twin follows at once, byte for byte, and only while the fault lasts
        at = sent.index(line)
        assert sent[at + 1] == line
        assert "T01:" in json.loads(line)["timestamp"]
    assert len(Counter(key(line) for line in sent)) == len(truth)  # a seq repeats only as a twin
    for device_id, device in totals(sim).items():
        twins = sum(1 for line in doubled if key(line)[0] == device_id)
        in_window = 360 if device_id == "ac" else 3600
        assert device["duplicated"] == twins and 0.1 * in_window < twins < 0.3 * in_window
        assert device["published"] == device["readings"] + twins == device["generated"] + twins
        assert device["readings"] == totals(plain_sim)[device_id]["readings"]


def test_a_reading_held_back_arrives_after_later_ones_and_at_most_max_delay_late() -> None:
    events = (
        'events: [{at: "+1h", action: out_of_order, target: all, probability: 0.1, max_delay: 30s, duration: 1h}]\n'
    )
    plain_sim, plain = simulate(scenario_text(DEVICES), 3 * HOUR)
    sim, sink = simulate(scenario_text(DEVICES + events), 3 * HOUR)
    sent, truth = lines(sink, sim), lines(plain, plain_sim)
    assert sorted(sent) == sorted(truth) and sent != truth  # the same readings, in another order
    for batch in sink.batches:
        late = batch.sent - batch.t
        assert late.min() >= 0.0 and late.max() <= 30.0
        assert np.all(np.diff(batch.sent) >= 0)
    device_totals = totals(sim)
    for device_id in ("ac", "oven"):
        mine = [json.loads(line) for line in sent if key(line)[0] == device_id]
        newest, overtaken, stamps = -1, 0, sorted(r["timestamp"] for r in mine)
        for reading in mine:
            if reading["seq"] < newest:
                overtaken += 1
                assert "T01:" in reading["timestamp"]  # only readings measured while it lasted
            newest = max(newest, reading["seq"])
        delayed = device_totals[device_id]["delayed"]
        assert (
            0
            < overtaken
            <= delayed
            == sum(int(((b.sent > b.t) & (b.device == sim.by_id[device_id].index)).sum()) for b in sink.batches)
        )
        assert stamps == sorted(json.loads(line)["timestamp"] for line in truth if key(line)[0] == device_id)
    # Arrival order: nothing that arrived before a reading was measured more than max_delay after it.
    times = [t for batch in sink.batches for t in batch.t.tolist()]
    assert all(before <= t + 30.0 for before, t in zip(np.maximum.accumulate(times), times, strict=True))


def test_with_a_buffer_large_enough_no_reading_is_lost_and_the_held_ones_come_first() -> None:
    devices = "devices: [{id: ac, kind: hvac, interval: 10s, buffer: 1000}, {id: rack, kind: server, interval: 1s}]\n"
    events = 'events: [{at: "+1h", action: comm_loss, target: all, duration: 30m}]\n'
    plain_sim, plain = simulate(scenario_text(devices), 3 * HOUR)
    sim, sink = simulate(scenario_text(devices + events), 3 * HOUR)
    sent = lines(sink, sim)
    ac = [json.loads(line) for line in sent if key(line)[0] == "ac"]
    assert [r["seq"] for r in ac] == list(range(3 * 360))  # every seq, in order: held first, then live
    assert [line for line in sent if key(line)[0] == "ac"] == [
        line for line in lines(plain, plain_sim) if b'"ac"' in line
    ]
    # The held ones leave at the end of the loss (5400 s), before that instant's live reading.
    ac_batch = [(t, s) for b in sink.batches for t, s, d in zip(b.t, b.sent, b.device, strict=True) if d == 0]
    held = [(t, s) for t, s in ac_batch if s > t]
    assert len(held) == 180 and all(s == 5400.0 and 3600.0 <= t < 5400.0 for t, s in held)
    rack = [key(line)[1] for line in sent if key(line)[0] == "rack"]
    assert rack == list(range(3 * 3600 - 1800))  # no buffer: today's behaviour, seq counts what was sent
    ac_totals, rack_totals = totals(sim)["ac"], totals(sim)["rack"]
    assert (ac_totals["held"], ac_totals["dropped_at_meter"], ac_totals["generated"]) == (180, 0, 1080)
    assert ac_totals["readings"] == ac_totals["published"] == 1080 and ac_totals["last_seq"] == 1079
    assert (rack_totals["held"], rack_totals["generated"], rack_totals["readings"]) == (0, 10800, 9000)


def test_a_full_buffer_drops_the_oldest_at_the_meter_exactly_as_counted() -> None:
    devices = "devices: [{id: ac, kind: hvac, interval: 10s, buffer: 50}]\n"
    events = 'events: [{at: "+1h", action: comm_loss, target: all, duration: 30m}]\n'
    sim, sink = simulate(scenario_text(devices + events), 3 * HOUR)
    seqs = [key(line)[1] for line in lines(sink, sim)]
    missing = sorted(set(range(1080)) - set(seqs))
    assert missing == list(range(360, 360 + 130))  # the oldest 130 of the 180 measured offline
    assert seqs == sorted(seqs)
    ac = totals(sim)["ac"]
    assert (ac["dropped_at_meter"], ac["held"], ac["readings"], ac["generated"]) == (130, 50, 950, 1080)


def test_set_offline_buffers_too_and_set_online_or_clear_fault_forward_at_once() -> None:
    sink = MemorySink()
    text = scenario_text("devices: [{id: ac, kind: hvac, interval: 10s, buffer: 100}]\n")
    sim = Simulation(parse_scenario(text).plan, sink)
    sim.advance(600.0)
    command(sim, "ac", "set_offline")
    sim.advance(900.0)
    command(sim, "ac", "set_online")
    sim.advance(1200.0)
    command(sim, "ac", "inject_fault", {"fault": "comm_loss"})
    sim.advance(1500.0)
    command(sim, "ac", "clear_fault", {"fault": "comm_loss"})
    sim.advance(1800.0)
    seqs = [int(s) for b in sink.batches for s in b.seq]
    assert seqs == list(range(180))
    forwarded = sorted({float(s) for b in sink.batches for t, s in zip(b.t, b.sent, strict=True) if s > t})
    assert forwarded == [900.0, 1500.0]
    assert [(c.t, c.status, c.reason) for c in sink.statuses[1:]] == [
        (600.0, "offline", "set_offline"),
        (900.0, "online", "set_online"),
        (1200.0, "offline", "comm_loss"),
        (1500.0, "online", "clear_fault"),
    ]
    assert totals(sim)["ac"]["held"] == 60


def test_delivery_faults_as_commands_until_cleared() -> None:
    sink = MemorySink()
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, sink)
    sim.advance(600.0)
    command(sim, "oven", "inject_fault", {"fault": "duplicate", "probability": 1.0})
    command(sim, "oven", "inject_fault", {"fault": "out_of_order", "probability": 1.0, "max_delay": "5s"})
    sim.advance(610.0)
    command(sim, "oven", "clear_fault")
    sim.advance(700.0)
    oven = [
        (float(t), float(s), int(q))
        for b in sink.batches
        for t, s, q, d in zip(b.t, b.sent, b.seq, b.device, strict=True)
        if d == 1
    ]
    window = [row for row in oven if 600.0 <= row[0] < 610.0]
    assert len(window) == 20 and all(t < s <= t + 5.0 for t, s, _ in window)  # each twice, each late
    counts = Counter(q for _, _, q in oven)
    assert sorted(q for q, n in counts.items() if n == 2) == list(range(600, 610)) and len(counts) == 700
    assert all(s == t for t, s, _ in oven if not 600.0 <= t < 610.0)
    oven_totals = totals(sim)["oven"]
    assert (oven_totals["duplicated"], oven_totals["delayed"], oven_totals["generated"]) == (10, 10, 700)
    assert [(e.action, e.phase) for e in sim.journal] == [
        ("duplicate", "start"), ("out_of_order", "start"), ("clear_fault", "start"),
        ("duplicate", "end"), ("out_of_order", "end"),
    ]  # fmt: skip


def test_a_batch_with_late_readings_is_in_send_order_as_a_plain_sort_says() -> None:
    """The merge's sort against sorted() over rows: chunks with and without send instants, and rows."""
    rng = np.random.default_rng(7)
    chunks, rows = [], []
    for device in range(6):
        n = int(rng.integers(1, 40))
        t = np.sort(rng.choice(np.arange(0.0, 100.0, 0.5), n, replace=False))
        seq = np.arange(n, dtype=np.int64) + 10 * device
        sent = t + np.where(rng.random(n) < 0.3, rng.random(n) * 20.0, 0.0) if device % 2 else None
        power, voltage, current, energy = rng.random((4, n))
        chunks.append(Chunk(device, t, power, voltage, current, energy, seq, bool(device % 3), False, sent))
    for i in range(30):
        rows.append((float(rng.integers(0, 200)) / 2, 6 + i % 2, 1.0, 230.0, 2.0, 3.0, 1000 + i, True, False))
    batch = ReadingBatch.merge(tuple(f"d{i}" for i in range(8)), chunks, rows)
    expected = sorted(
        [
            (float(s), c.device, int(q), float(t))
            for c in chunks
            for t, s, q in zip(c.t, c.t if c.sent is None else c.sent, c.seq, strict=True)
        ]
        + [(row[0], row[1], row[6], row[0]) for row in rows]
    )
    got = list(zip(batch.sent.tolist(), batch.device.tolist(), batch.seq.tolist(), batch.t.tolist(), strict=True))
    assert got == expected and batch.late


def test_a_reading_held_back_is_not_sent_while_its_link_is_down_but_stored_or_lost() -> None:
    """Held back before a loss and due during it: a meter with a buffer forwards it with the stored
    ones, in seq order; one without loses it (a counted gap). Nothing leaves while offline."""
    text = scenario_text(
        """\
devices:
  - {id: c, kind: appliance, interval: 5s}
  - {id: b, kind: appliance, interval: 5s, buffer: 100}
events:
  - {at: "+0s", action: out_of_order, target: all, probability: 0.5, max_delay: 60s, duration: 100s}
  - {at: "+40s", action: comm_loss, target: c, duration: 60s}
  - {at: "+40s", action: set_offline, target: b}
  - {at: "+100s", action: set_online, target: b}
"""
    )
    for steps in ([300.0], [x * 0.37 for x in range(1, 811)] + [300.0]):
        sim = Simulation(parse_scenario(text).plan, sink := MemorySink())
        for until in steps:
            sim.advance(until)
        sent = [(b.device_ids[d], s, q) for b in sink.batches for d, s, q in zip(b.device, b.sent, b.seq, strict=True)]
        assert not [reading for reading in sent if 40.0 <= reading[1] < 100.0], steps
        totals = {device["device_id"]: device for device in build_report(sim, run_id="r", source="s", until=300.0,
                                                                          wall_seconds=0.0)["devices"]}  # fmt: skip
        b_seqs = [q for device, _, q in sent if device == "b"]
        assert sorted(set(b_seqs)) == list(range(60)) and totals["b"]["dropped_at_meter"] == 0
        forwarded = [q for device, s, q in sent if device == "b" and s == 100.0]
        assert forwarded == sorted(forwarded) and len(forwarded) > 12  # the 12 stored and the held-back ones
        c_seqs = {q for device, _, q in sent if device == "c"}
        last_seq = totals["c"]["last_seq"]
        assert last_seq is not None
        lost = set(range(last_seq + 1)) - c_seqs
        assert lost and len(lost) == totals["c"]["dropped_at_meter"]
