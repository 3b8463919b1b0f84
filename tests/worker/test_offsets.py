"""What may be committed: the finished prefix of a partition, never past an unfinished record."""

from __future__ import annotations

from aiokafka import TopicPartition
from hypothesis import given
from hypothesis import strategies as st

from hookline.worker.offsets import PartitionOffsets

TP = TopicPartition("t", 0)


@given(st.data())
def test_commit_position_is_the_first_unfinished_offset(data):
    """Whatever order records finish in, the committable position never skips an unfinished one."""
    offsets_list = sorted(data.draw(st.sets(st.integers(0, 10_000), min_size=1, max_size=60)))
    finish_order = data.draw(st.permutations(offsets_list))
    offsets = PartitionOffsets(TP)
    for offset in offsets_list:
        offsets.add(offset)
    finished: set[int] = set()
    for offset in finish_order:
        offsets.finish(offset)
        finished.add(offset)
        unfinished = [o for o in offsets_list if o not in finished]
        if unfinished:
            first = unfinished[0]
            before = [o for o in offsets_list if o < first]
            expected = before[-1] + 1 if before else None
        else:
            expected = offsets_list[-1] + 1
        assert offsets.committable == expected
        assert offsets.outstanding == len(unfinished)


def test_to_commit_reports_only_new_positions():
    """A position already committed is not committed again."""
    offsets = PartitionOffsets(TP)
    for offset in (3, 4, 5):
        offsets.add(offset)
    assert offsets.to_commit() is None
    offsets.finish(4)
    assert offsets.to_commit() is None  # 3 is still running
    offsets.finish(3)
    assert offsets.to_commit() == 5
    offsets.committed = 5
    assert offsets.to_commit() is None
    assert offsets.position == 5
