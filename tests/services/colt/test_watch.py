"""colt.service.watch: bounded periodic checks with threshold events, surviving a worker restart."""

from __future__ import annotations

from hookline.envelope import CloudEvent
from tests.providers.colt.conftest import ColtStack, StartColt
from tests.services.colt.conftest import running_worker
from tests.support.kafka import consume_all


def polled(events: list[CloudEvent], type_: str) -> list[CloudEvent]:
    return [e for e in events if e.type == type_ and e.data.get("origin") == "poll"]


def completed(events: list[CloudEvent], watch: CloudEvent) -> CloudEvent | None:
    return next(
        (
            e
            for e in events
            if e.type == "colt.service.watch_completed" and e.data["command_id"] == watch.id
        ),
        None,
    )


async def test_watch_runs_max_checks_and_reports_each_breach(colt: ColtStack) -> None:
    """Three checks of a HOT and FLAKY service: three of each threshold event, then watch_completed."""
    service = "SVC-ETHERNET-HOT-FLAKY-9"
    async with running_worker(colt.settings):
        watch = await colt.command(
            "colt.service.watch",
            {"service_id": service, "interval_seconds": 1, "max_checks": 3},
            subject=service,
        )
        events = await colt.wait_for(lambda evs: completed(evs, watch) is not None, timeout=40)
    done = completed(events, watch)
    assert done is not None
    assert (done.data["checks"], done.data["alerts"], done.data["ended"]) == (3, 6, "max_checks")
    assert done.data["last_status"] == "active"
    high = polled(events, "colt.service.utilization_high")
    low = polled(events, "colt.service.availability_low")
    assert [e.data["command_id"] for e in high] == [watch.id] * 3
    assert len({e.id for e in high}) == 3
    assert {e.data["peak_utilization_percent"] for e in high} == {95.0}
    assert {(e.data["availability_percent"], e.data["threshold_percent"]) for e in low} == {
        (99.5, 99.9)
    }
    assert len(low) == 3
    state = await colt.state()
    assert state["requests"]["by_route"]["GET /ebonding/v5/usage/{service_id}"] == 3


async def test_watch_waits_on_a_retry_tier_and_survives_a_restart(colt: ColtStack) -> None:
    """A 4 s interval travels on the 3s tier; the worker stops mid-wait and a new one finishes the watch."""
    service = "SVC-ETHERNET-HOT-4"
    async with running_worker(colt.settings):
        watch = await colt.command(
            "colt.service.watch",
            {"service_id": service, "interval_seconds": 4, "duration_seconds": 6},
            subject=service,
        )
        await colt.wait_for(lambda evs: len(polled(evs, "colt.service.utilization_high")) == 1)
    # Nothing runs while no worker is up; the next check waits in Kafka.
    parked = await consume_all(colt.bootstrap, colt.topics.retry("colt", "3s"), timeout=1)
    assert [CloudEvent.from_json(r.value).type for r in parked] == ["colt.service.watch_check"]
    async with running_worker(colt.settings):
        events = await colt.wait_for(lambda evs: completed(evs, watch) is not None, timeout=40)
    done = completed(events, watch)
    assert done is not None
    assert (done.data["checks"], done.data["ended"]) == (2, "duration")
    assert len(polled(events, "colt.service.utilization_high")) == 2


async def test_unknown_service_ends_the_watch_with_a_failure(start_colt: StartColt) -> None:
    """A watch of a service Colt does not know fails permanently (404) with colt.command.failed."""
    async with start_colt() as colt, running_worker(colt.settings):
        watch = await colt.command(
            "colt.service.watch", {"service_id": "NOPE-1", "interval_seconds": 1, "max_checks": 2}
        )
        events = await colt.wait_for(lambda evs: any(e.type == "colt.command.failed" for e in evs))
    [failed] = [e for e in events if e.type == "colt.command.failed"]
    assert (failed.data["command_id"], failed.data["http_status"]) == (watch.id, 404)
