"""The contract's bytes: PUBLISH packets against a plain encoder, topics, the bounded topic cache."""

from __future__ import annotations

import random
from itertools import count

from engine.contract.packets import TopicHeaders, publish_packets
from engine.contract.topics import Topics
from engine.runtime.outbox import Message


def plain_publish(message: Message, mid: int | None) -> bytes:
    """MQTT 3.1.1 section 3.3, written out one field at a time: the oracle of `publish_packets`."""
    topic = message.topic.encode()
    body = (
        len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if mid is not None else b"") + message.payload
    )
    length, remaining = len(body), b""
    while True:
        length, digit = divmod(length, 128)
        remaining += bytes([digit | (0x80 if length else 0)])
        if not length:
            break
    return bytes([0x30 | message.qos << 1 | message.retain]) + remaining + body


def test_publish_packets_match_the_plain_encoder_over_random_windows() -> None:
    # Sizes across the 1-, 2- and 3-byte remaining lengths (127/128 and 16,383/16,384 bytes after the topic).
    rng = random.Random(7)
    headers = TopicHeaders(limit=50)
    for _ in range(300):
        qos = rng.choice((0, 1, 2))
        messages = [
            Message(
                f"p/devices/d{rng.randrange(200)}/{rng.choice(('data', 'status', 'responses'))}",
                rng.randbytes(rng.choice((0, 1, 70_000, rng.randrange(90, 140), rng.randrange(16_330, 16_400)))),
                qos,
                rng.random() < 0.5,
            )
            for _ in range(rng.randrange(1, 20))
        ]
        mids = count(rng.randrange(1, 60_000))
        packet, offsets, used = publish_packets(messages, headers, mids.__next__ if qos else None)
        expected = [plain_publish(m, used[i] if qos else None) for i, m in enumerate(messages)]
        assert packet == b"".join(expected)
        assert offsets == [sum(len(p) for p in expected[: i + 1]) for i in range(len(expected))]
        assert len(used) == (len(messages) if qos else 0)
        assert len(headers) <= 50


def test_topic_headers_keep_only_the_repeating_kinds_and_at_most_their_limit() -> None:
    headers = TopicHeaders(limit=3)
    for device in range(10):
        headers.add(f"p/devices/x{device}/responses")
    assert len(headers) == 0  # a response topic per made-up id is never kept
    for device in range(5):
        headers.add(f"p/devices/d{device}/data")
    assert list(headers.cache) == ["p/devices/d2/data", "p/devices/d3/data", "p/devices/d4/data"]
    assert headers.cache["p/devices/d4/data"] == b"\x00\x11p/devices/d4/data"


def test_topics_of_a_prefix_and_the_device_of_a_command_topic() -> None:
    topics = Topics("energy")
    assert topics.data("a") == "energy/devices/a/data"
    assert topics.status("a") == "energy/devices/a/status"
    assert topics.responses("a") == "energy/devices/a/responses"
    assert topics.device("a", "commands") == "energy/devices/a/commands"
    assert (topics.simulator, topics.commands) == ("energy/simulator/status", "energy/devices/+/commands")
    assert topics.commanded_device("energy/devices/mock-hvac_1/commands") == "mock-hvac_1"
    for bad in ("energy/devices//commands", "energy/devices/a b/commands", "other/devices/a/commands", "energy/x"):
        assert topics.commanded_device(bad) is None


def test_the_contract_imports_only_the_model_and_the_errors() -> None:
    import ast
    from pathlib import Path

    import engine.contract

    imported: set[str] = set()
    for path in Path(engine.contract.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    ours = {name for name in imported if name.split(".")[0] in ("engine", "api", "iot_mock")}
    assert ours, "the walk found the package's imports"
    assert [name for name in ours if not name.startswith(("engine.model", "engine.errors", "engine.contract"))] == []
    assert not {name.split(".")[0] for name in imported} & {"aiomqtt", "paho", "starlette", "socket", "asyncio"}
