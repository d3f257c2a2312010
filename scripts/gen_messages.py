"""Generate the descriptions of the channel messages from their msgspec structs.

Writes docs/messages.schema.json (the JSON Schema, msgspec.json.schema_components),
docs/MESSAGES.md and dashboard/src/types.ts, both rendered from that schema:

    .venv/bin/python -m scripts.gen_messages           # write the three files
    .venv/bin/python -m scripts.gen_messages --check   # exit 1 if one is stale

tests/unit/common/test_generated_docs.py runs the check, so the test command
fails while a generated file is out of date.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from common.messages import MAX_COUNT, MESSAGE_TYPES, QUANTITY_DECIMALS
from common.names import Channel

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = "docs/messages.schema.json"
MARKDOWN_PATH = "docs/MESSAGES.md"
TYPESCRIPT_PATH = "dashboard/src/types.ts"
COMMAND = "python -m scripts.gen_messages"

PUBLISHERS = {
    Channel.MARKET_UNDERLYING: "the feed (`feed_generator`)",
    Channel.MARKET_OPTION_QUOTE: "the feed (`feed_generator`)",
    Channel.MARKET_OPTION_CHAIN: "the feed (`feed_generator`)",
    Channel.ENRICHED_UNDERLYING: "the workers (`worker_enricher`)",
    Channel.ENRICHED_OPTION_CHAIN: "the workers (`worker_enricher`)",
}
PARTS = ("SourcePrice", "ChainRow", "EnrichedRow", "Candle")
"""Structs nested in the messages, in the order the documents list them."""
ENUMS = ("OptionType", "Buildup", "ForwardSource", "SourceState")
TS_NAMES = {"EnrichedRow": "ChainRow", "ChainRow": "MarketChainRow", "Candle": "OhlcCandle"}
"""The dashboard's names for some structs (its ``ChainRow`` is the enriched row)."""

Node = dict[str, Any]


# -- the JSON Schema -----------------------------------------------------------------------------


def _ecma_patterns(node: Any) -> Any:
    """``node`` with Python's end anchor ``\\Z`` written as JSON Schema's (ECMA-262) ``$``,
    which, without the multiline flag, is the true end there."""
    if isinstance(node, dict):
        return {
            k: v[:-2] + "$" if k == "pattern" and v.endswith("\\Z") else _ecma_patterns(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_ecma_patterns(v) for v in node]
    return node


def json_schema() -> Node:
    """One JSON Schema for every channel message: ``$defs`` by struct name, and
    ``x-channels`` naming the message of each channel."""
    channels = list(Channel)
    refs, defs = msgspec.json.schema_components(
        [MESSAGE_TYPES[c] for c in channels], ref_template="#/$defs/{name}"
    )
    order = [*(MESSAGE_TYPES[c].__name__ for c in channels), *PARTS, *ENUMS]
    if set(order) != set(defs):
        raise SystemExit(f"scripts/gen_messages.py: list {sorted(set(defs) - set(order))}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "OptionsFlow channel messages",
        "description": f"Generated from common/messages by `{COMMAND}`: do not edit.",
        "x-channels": {c.value: ref for c, ref in zip(channels, refs, strict=True)},
        "$defs": {name: _ecma_patterns(defs[name]) for name in order},
    }


def render_schema(schema: Node) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


# -- reading schema nodes ------------------------------------------------------------------------


def _ref_name(node: Node) -> str:
    return str(node["$ref"]).rsplit("/", 1)[-1]


def _members(node: Node) -> list[Node]:
    """The alternatives of a node (itself when it is no union), ``null`` left out."""
    members: list[Node] = node.get("anyOf", [node])
    return [m for m in members if m.get("type") != "null"]


def _nullable(node: Node) -> bool:
    return any(m.get("type") == "null" for m in node.get("anyOf", []))


def _description(node: Node) -> str:
    texts = [m["description"] for m in (node, *_members(node)) if "description" in m]
    return texts[0] if texts else ""


def _number(value: float) -> str:
    return (
        "2⁵³ − 1" if value == MAX_COUNT else "−(2⁵³ − 1)" if value == -MAX_COUNT else f"{value:g}"
    )


def _distinct(parts: list[str]) -> list[str]:
    """``parts`` without repeats, in order (an ``integer or number`` union states its
    constraints, and in TypeScript its type, once each)."""
    return list(dict.fromkeys(parts))


def _constraints(node: Node) -> list[str]:
    found: list[str] = []
    for m in _members(node):
        for key, text in (("exclusiveMinimum", "> {}"), ("minimum", "≥ {}"),
                          ("exclusiveMaximum", "< {}"), ("maximum", "≤ {}")):  # fmt: skip
            if key in m:
                found.append(text.format(_number(m[key])))
        if "minLength" in m or "maxLength" in m:
            found.append(f"{m.get('minLength', 0)}–{m.get('maxLength', '∞')} characters")
        if "minItems" in m or "maxItems" in m:
            found.append(f"{m.get('minItems', 0)}–{m.get('maxItems', '∞')} items")
        if "pattern" in m:
            found.append(f"pattern `{m['pattern']}`")
        if m.get("type") == "array":
            found += [f"items {c}" for c in _constraints(m["items"])]
    return _distinct(found)


def _prose(text: str) -> str:
    """A docstring as one paragraph of Markdown: RST literals become code spans."""
    return " ".join(text.replace("``", "`").split())


def _fields(node: Node) -> list[tuple[str, Node, bool]]:
    """(name, schema, required) of each property of a struct, in wire order."""
    required = set(node.get("required", []))
    return [(name, prop, name in required) for name, prop in node["properties"].items()]


# -- docs/MESSAGES.md ----------------------------------------------------------------------------

MARKDOWN_INTRO = """\
# Channel messages

<!-- Generated by `{command}` from the structs in common/messages: do not edit. -->

Every message is one JSON object on its Redis Pub/Sub channel. The msgspec
structs in `common/messages/` are the contract: the workers decode and validate
each message once with them, and this page, the JSON Schema
[messages.schema.json](messages.schema.json) and the dashboard's
`dashboard/src/types.ts` are generated from them (`{command}`; the tests fail
while a generated file is stale).

- Decoding is strict: a number is a JSON number (a numeric string, a float for an
  integer or a boolean is refused), and a field the message does not define is
  refused. `NaN` and infinities are not JSON; a number too large for a double is refused.
- Prices are in the message's `currency` (the product's when absent); an option's
  volume and open interest are contracts, or coins where the venue counts in the
  underlying (Deribit's BTC options trade in 0.1 BTC), so they may be fractional: an
  integer is sent and kept as an integer (`100`, never `100.0`), a fraction as a
  number (`0.3`); sums and changes of fractions are rounded to {decimals} decimals.
  Volatilities are annualised decimals.
- Every message carries `product`, `timestamp` (ISO-8601 UTC with milliseconds,
  set at the origin) and `seq`, which increases by one per (channel, product) at
  the publisher, so a consumer can detect gaps.
- Optional fields (the real venues' additions) are left out when they do not
  apply, never sent as `null`; the synthetic market sends none of them.
  `null` appears only where a field's type says so: a value the inputs cannot give.
- A message that fails is counted, logged and pushed to `deadletter:{{channel}}`
  with its reason: `not JSON: …`, or `invalid message: …` naming the field path,
  e.g. ``invalid message: Expected `float` >= 0.0 - at `$.calls[3].bid` ``.

| channel | message | published by |
|---|---|---|
"""


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_type(node: Node) -> str:
    parts: list[str] = []
    members = _members(node)
    for m in members:
        if "$ref" in m:
            name = _ref_name(m)
            parts.append(f"[{name}](#{name.lower()})")
        elif "enum" in m:
            parts.append(" or ".join(f'`"{v}"`' for v in m["enum"]))
        elif m.get("type") == "array":
            parts.append(f"array of {_md_type(m['items'])}")
        elif m.get("type") == "integer" and any(o.get("type") == "number" for o in members):
            continue  # an integer is a number: `integer or number` is one
        else:
            parts.append(str(m["type"]))
    return " or ".join(parts)


def _md_struct(name: str, node: Node, title: str) -> list[str]:
    lines = [f'### <a id="{name.lower()}"></a>{title}', "", _prose(node.get("description", "")), ""]
    lines += ["| field | type | constraints | meaning |", "|---|---|---|---|"]
    for field, prop, required in _fields(node):
        nullable = " or null" if required and _nullable(prop) else ""  # absent, never null
        kind = f"{_md_type(prop)}{nullable}" if required else f"{_md_type(prop)}, optional"
        cells = (f"`{field}`", kind, ", ".join(_constraints(prop)), _prose(_description(prop)))
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return [*lines, ""]


def render_markdown(schema: Node) -> str:
    defs: dict[str, Node] = schema["$defs"]
    lines = MARKDOWN_INTRO.format(command=COMMAND, decimals=QUANTITY_DECIMALS).splitlines()
    for channel in Channel:
        name = MESSAGE_TYPES[channel].__name__
        lines.append(f"| `{channel.value}` | [{name}](#{name.lower()}) | {PUBLISHERS[channel]} |")
    lines += ["", "## Messages", ""]
    for channel in Channel:
        name = MESSAGE_TYPES[channel].__name__
        lines += _md_struct(name, defs[name], f"`{channel.value}`: {name}")
    lines += ["## Parts of messages", ""]
    for name in PARTS:
        lines += _md_struct(name, defs[name], name)
    lines += ["## Enumerations", ""]
    for name in ENUMS:
        values = ", ".join(f'`"{v}"`' for v in defs[name]["enum"])
        doc = _prose(defs[name].get("description", ""))
        lines += [f'### <a id="{name.lower()}"></a>{name}', "", doc, "", f"Values: {values}.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- dashboard/src/types.ts ----------------------------------------------------------------------


def _ts_doc(text: str, indent: str = "") -> list[str]:
    prose = _prose(text)
    return [f"{indent}/** {prose} */"] if prose else []


def _ts_type(node: Node, optional: bool = False) -> str:
    parts: list[str] = []
    for m in _members(node):
        if "$ref" in m:
            parts.append(TS_NAMES.get(_ref_name(m), _ref_name(m)))
        elif "enum" in m:
            parts += [json.dumps(v) for v in m["enum"]]
        elif m.get("type") == "array":
            item = _ts_type(m["items"])
            parts.append(f"({item})[]" if " | " in item else f"{item}[]")
        else:
            parts.append("number" if m["type"] == "integer" else str(m["type"]))
    if _nullable(node) and not optional:  # an absent optional field is left out, never null
        parts.append("null")
    return " | ".join(_distinct(parts))


def _ts_interface(name: str, node: Node) -> list[str]:
    lines = [*_ts_doc(node.get("description", "")), f"export interface {name} {{"]
    for field, prop, required in _fields(node):
        lines += _ts_doc(_description(prop), "  ")
        mark = "" if required else "?"
        lines.append(f"  {field}{mark}: {_ts_type(prop, optional=not required)};")
    return [*lines, "}", ""]


def render_typescript(schema: Node) -> str:
    defs: dict[str, Node] = schema["$defs"]
    lines = [
        f"// Generated by `{COMMAND}` from the message structs in common/messages: do not edit.",
        "// Fields, constraints and units: docs/MESSAGES.md.",
        "",
    ]
    for name in ENUMS:
        values = " | ".join(json.dumps(v) for v in defs[name]["enum"])
        lines += [
            *_ts_doc(defs[name].get("description", "")),
            f"export type {name} = {values};",
            "",
        ]
    names = [*(MESSAGE_TYPES[c].__name__ for c in Channel), *PARTS]
    for name in names:
        lines += _ts_interface(TS_NAMES.get(name, name), defs[name])
    lines += ["/** The message of each channel. */", "export interface ChannelMessages {"]
    for channel in Channel:
        name = MESSAGE_TYPES[channel].__name__
        lines.append(f'  "{channel.value}": {TS_NAMES.get(name, name)};')
    return "\n".join([*lines, "}"]) + "\n"


# -- writing and checking ------------------------------------------------------------------------

RENDERERS: dict[str, Callable[[Node], str]] = {
    SCHEMA_PATH: render_schema,
    MARKDOWN_PATH: render_markdown,
    TYPESCRIPT_PATH: render_typescript,
}


def generated() -> dict[str, str]:
    """Each generated file's path (from the repository root) and its text."""
    schema = json_schema()
    return {path: render(schema) for path, render in RENDERERS.items()}


def stale(root: Path = ROOT) -> list[str]:
    """The generated files whose committed text differs from what the structs give."""
    found = []
    for path, text in generated().items():
        target = root / path
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            found.append(path)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale()
        for path in outdated:
            sys.stderr.write(f"{path} is stale: run `{COMMAND}`\n")
        return 1 if outdated else 0
    for path, text in generated().items():
        (ROOT / path).write_text(text, encoding="utf-8")
        sys.stderr.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
