"""Shared metric cells: each process writes its own, a reader sees every process's values."""

from __future__ import annotations

import os
from pathlib import Path

from hookline.observability.cells import CHUNK, CellReader, CellWriter, alive, fresh_directory


def test_reader_sees_each_process_series_and_later_updates(tmp_path: Path) -> None:
    """Values written in place by two writers are read per process, including updates after a first read."""
    first, second = CellWriter(tmp_path, pid=101), CellWriter(tmp_path, pid=102)
    cells, at = first.allocate("t_requests", ("a",), 1, 1.0)
    cells[at] += 3
    other, other_at = second.allocate("t_requests", ("a",), 1, 2.0)
    other[other_at] += 4
    reader = CellReader(tmp_path)
    assert sorted((s.pid, s.values) for s in reader.series("t_requests")) == [
        (101, (3.0,)),
        (102, (4.0,)),
    ]
    cells[at] += 1
    late, late_at = first.allocate("t_requests", ("b",), 1, 3.0)
    late[late_at] = 9
    assert sorted((s.pid, s.labels, s.values) for s in reader.series("t_requests")) == [
        (101, ("a",), (4.0,)),
        (101, ("b",), (9.0,)),
        (102, ("a",), (4.0,)),
    ]
    assert list(reader.series("t_other")) == []


def test_a_series_never_straddles_chunks(tmp_path: Path) -> None:
    """Wide series fill chunk after chunk and each reads back whole."""
    writer = CellWriter(tmp_path, pid=7)
    for n in range(2 * CHUNK // 15 + 3):
        cells, at = writer.allocate("t_seconds", (str(n),), 15, 0.0)
        assert at + 15 <= CHUNK
        for i in range(15):
            cells[at + i] = n
    series = {s.labels[0]: s.values for s in CellReader(tmp_path).series("t_seconds")}
    assert all(values == (float(n),) * 15 for n, values in ((int(k), v) for k, v in series.items()))


def test_fresh_directory_clears_an_earlier_run(tmp_path: Path) -> None:
    """A configured directory loses an earlier run's files; an unset one is a new temporary directory."""
    CellWriter(tmp_path, pid=5).allocate("t", (), 1, 0.0)
    directory, temporary = fresh_directory(str(tmp_path))
    assert (directory, temporary) == (tmp_path, False)
    assert list(CellReader(tmp_path).series("t")) == []
    directory, temporary = fresh_directory(None)
    assert temporary and directory.is_dir() and not any(directory.iterdir())
    directory.rmdir()


def test_alive_tells_running_from_exited_processes() -> None:
    """The reader's liveness check: this process runs, a never-used pid does not."""
    assert alive(os.getpid())
    assert not alive(2**22 + 12345)


def test_a_reused_pid_keeps_the_exited_process_counts(tmp_path: Path) -> None:
    """A new process that gets an exited one's pid writes its own files; both counts stay."""
    exited = CellWriter(tmp_path, pid=300)
    cells, at = exited.allocate("t_requests", ("a",), 1, 0.0)
    cells[at] = 5
    reborn = CellWriter(tmp_path, pid=300)
    cells, at = reborn.allocate("t_requests", ("a",), 1, 0.0)
    cells[at] = 2
    values = sorted(s.values[0] for s in CellReader(tmp_path).series("t_requests"))
    assert values == [2.0, 5.0]
