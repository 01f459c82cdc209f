"""The generated docs are current: docs/scenarios.md, docs/contract.md's blocks, docs/scenario.schema.json."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from engine.contract.topics import DeviceTopic, Topics
from iot_mock import docs


@pytest.mark.timeout(60)
def test_every_generated_doc_is_what_the_generator_writes(update_golden: bool) -> None:
    files = docs.generated()
    assert {path.name for path in files} == {"scenario.schema.json", "scenarios.md", "contract.md"}
    for path, text in files.items():
        if update_golden:
            path.write_text(text)
        assert path.read_text() == text, f"{path.relative_to(docs.ROOT)} is stale: {docs.COMMAND}"


def test_every_block_of_the_contract_is_filled_and_known() -> None:
    text = (docs.ROOT / "docs" / "contract.md").read_text()
    names = re.findall(r"<!-- generated: ([a-z-]+) -->", text)
    assert sorted(names) == sorted(docs.BLOCKS)  # each block once, none unknown
    assert all(
        body.strip() for body in re.findall(r"<!-- generated: [a-z-]+ -->\n(.*?)<!-- /generated -->", text, re.S)
    )
    with pytest.raises(KeyError, match="nope"):
        docs.contract("<!-- generated: nope -->\n<!-- /generated -->")


def test_the_check_names_the_stale_file_and_the_command_and_a_run_mends_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("scenario.schema.json", "scenarios.md", "contract.md"):
        copy = tmp_path / "docs" / name
        copy.parent.mkdir(exist_ok=True)
        copy.write_text((docs.ROOT / "docs" / name).read_text())
    contract = tmp_path / "docs" / "contract.md"
    contract.write_text(contract.read_text().replace('"seq":1}', '"seq":2}', 1))
    assert docs.main(["--check"], root=tmp_path) == 1
    assert capsys.readouterr().err == "docs/contract.md is stale: python -m iot_mock.docs\n"
    assert docs.main([], root=tmp_path) == 0
    assert contract.read_text() == (docs.ROOT / "docs" / "contract.md").read_text()
    assert docs.main(["--check"], root=tmp_path) == 0


def test_the_contracts_topic_table_names_exactly_the_topics_of_the_code() -> None:
    text = (docs.ROOT / "docs" / "contract.md").read_text()
    table = text.split("| topic | direction |")[1].split("\n\n")[0]
    listed = re.findall(r"^\| `([^`]+)` \|", table, re.M)
    topics = Topics("energy")
    expected = [topics.device("{id}", kind) for kind in get_args(DeviceTopic)] + [topics.simulator]
    assert listed == expected
