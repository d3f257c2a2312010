"""Prometheus ``/metrics`` pages read as a test sees them: families and summed samples."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


@dataclass(frozen=True)
class Scrape:
    """One reading of a ``/metrics`` page."""

    families: dict[str, str]
    """Family name → type (``counter``, ``histogram``…), with or without samples."""
    samples: list[Sample]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples ``name`` whose labels include ``labels`` (0 when none)."""
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def matching(self, name: str, **labels: str) -> list[Sample]:
        return [
            s
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]


def parse(text: str) -> Scrape:
    families: dict[str, str] = {}
    samples: list[Sample] = []
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        samples.extend(family.samples)
    return Scrape(families, samples)


def scrape(base_url: str, timeout: float = 10.0) -> Scrape:
    """``GET {base_url}/metrics``, parsed."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=timeout) as resp:
        assert resp.status == 200
        return parse(resp.read().decode())
