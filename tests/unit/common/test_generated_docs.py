"""The files generated from the message structs are up to date, and say what the structs say."""

from __future__ import annotations

import json
import re
from pathlib import Path

from common.messages import MESSAGE_TYPES
from common.names import Channel
from scripts import gen_messages

ROOT = Path(__file__).resolve().parents[3]


def test_generated_files_are_up_to_date() -> None:
    stale = gen_messages.stale(ROOT)
    assert stale == [], f"stale: {stale}; regenerate with `.venv/bin/{gen_messages.COMMAND}`"


def test_the_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    for path, text in gen_messages.generated().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    assert gen_messages.stale(tmp_path) == []
    schema = tmp_path / gen_messages.SCHEMA_PATH
    schema.write_text(schema.read_text(encoding="utf-8") + " ", encoding="utf-8")
    (tmp_path / gen_messages.TYPESCRIPT_PATH).unlink()
    assert gen_messages.stale(tmp_path) == [gen_messages.SCHEMA_PATH, gen_messages.TYPESCRIPT_PATH]


def test_the_schema_names_every_channel_and_uses_ecma_anchors() -> None:
    schema = gen_messages.json_schema()
    assert schema["x-channels"] == {
        c.value: {"$ref": f"#/$defs/{MESSAGE_TYPES[c].__name__}"} for c in Channel
    }
    chain = schema["$defs"]["OptionChain"]
    assert chain["additionalProperties"] is False
    assert chain["required"] == [
        "product", "expiry", "spot_price", "strikes", "calls", "puts", "timestamp", "seq",
    ]  # fmt: skip
    assert chain["properties"]["product"]["pattern"] == "^[A-Z][A-Z0-9&_-]{0,31}$"
    assert "\\Z" not in json.dumps(schema)  # no Python-only anchor left for other languages
    strikes = chain["properties"]["strikes"]
    assert (strikes["minItems"], strikes["maxItems"]) == (1, 2000)
    assert strikes["items"] == {"type": "number", "exclusiveMinimum": 0}


def test_the_dashboard_finds_the_names_it_imports() -> None:
    types = gen_messages.generated()[gen_messages.TYPESCRIPT_PATH]
    exported = set(re.findall(r"^export (?:interface|type) (\w+)", types, re.M))
    assert {"Buildup", "ChainRow", "EnrichedChain", "OhlcCandle", "EnrichedUnderlying"} <= exported
    row = types[types.index("export interface ChainRow {") :]
    row = row[: row.index("}")]
    assert "  iv: number | null;" in row  # the dashboard's ChainRow is the enriched row
    assert "  mark?: number;" in row  # optional: absent, never null


def test_the_markdown_lists_every_field_of_every_message() -> None:
    text = gen_messages.generated()[gen_messages.MARKDOWN_PATH]
    for channel, struct in MESSAGE_TYPES.items():
        section = text[text.index(f"`{channel.value}`: {struct.__name__}") :]
        section = section[: section.index("\n### ")]
        rows = re.findall(r"^\| `(\w+)` \|", section, re.M)
        assert rows == list(struct.__struct_fields__), channel
