"""Each values scenario is rendered once per session; tests read the result."""

from __future__ import annotations

from pathlib import Path

import helm_python
import pytest

from tests.helm.rendering import CI_VALUES, Release, load_chart, read_values, render

# `None` is the chart's values.yaml alone, as `helm install` with no -f uses it.
SCENARIOS: dict[str, Path | None] = {"values.yaml": None} | {
    f"ci/{path.name}": path for path in CI_VALUES
}


@pytest.fixture(scope="session")
def chart() -> helm_python.Chart:
    """The chart loaded once by Helm's engine."""
    return load_chart()


@pytest.fixture(scope="session")
def renders(chart: helm_python.Chart) -> dict[str, Release]:
    """Every scenario rendered once."""
    return {
        scenario: render(chart, read_values(path) if path else None)
        for scenario, path in SCENARIOS.items()
    }


@pytest.fixture(params=sorted(SCENARIOS))
def release(request: pytest.FixtureRequest, renders: dict[str, Release]) -> Release:
    """One rendered scenario (the test runs for each)."""
    return renders[request.param]


@pytest.fixture
def default_release(renders: dict[str, Release]) -> Release:
    """The chart rendered with values.yaml alone."""
    return renders["values.yaml"]


@pytest.fixture
def production_release(renders: dict[str, Release]) -> Release:
    """The production-like scenario: replicas, Redis, SASL_SSL, existing Secret, ServiceMonitor."""
    return renders["ci/production-values.yaml"]
