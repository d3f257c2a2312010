"""A simulator's control endpoint answers the loopback interface only."""

from __future__ import annotations

import asyncio
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from feed_generator.venues.simhost import control_body


def _from(address: str) -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (address, 40_000) if name == "peername" else default
    )
    return make_mocked_request("POST", "/sim/control", transport=transport)


def test_a_caller_off_the_loopback_is_refused() -> None:
    with pytest.raises(web.HTTPForbidden) as refused:
        asyncio.run(control_body(_from("10.0.0.5")))
    assert refused.value.text == '{"error": "loopback only"}'
    assert refused.value.content_type == "application/json"
