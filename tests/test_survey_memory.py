"""The DEF memory: bounded, random forgetting, only valid turns, switchable."""

import numpy as np
import pytest

from workbench.survey.memory import ConversationMemory


def fill(memory, n):
    for i in range(n):
        memory.add(f"Q{i}", f"Answer: {i}", valid=True)
    return memory


def test_never_exceeds_max_memory():
    memory = ConversationMemory(max_memory=5, rng=0)
    for i in range(40):
        memory.add(f"Q{i}", "Answer: A", valid=True)
        assert len(memory) == min(i + 1, 5)
        assert len(memory.messages()) == 2 * len(memory)
    # the newest turn is always kept
    assert memory.pairs[-1] == ("Q39", "Answer: A")


def test_forgetting_is_random_seeded_and_not_always_the_oldest():
    runs = [[p for p, _ in fill(ConversationMemory(max_memory=5, rng=seed), 30).pairs]
            for seed in range(10)]
    # reproducible with the same seed
    assert [p for p, _ in fill(ConversationMemory(max_memory=5, rng=3), 30).pairs] == runs[3]
    assert fill(ConversationMemory(5, np.random.default_rng(3)), 30).pairs == \
        fill(ConversationMemory(5, 3), 30).pairs
    # oldest-first deletion would keep exactly Q25..Q29 every time
    oldest_first = [f"Q{i}" for i in range(25, 30)]
    assert any(run != oldest_first for run in runs)
    # different seeds remember different histories
    assert len({tuple(run) for run in runs}) > 1
    # the deleted pair is not always the oldest one present
    memory = fill(ConversationMemory(max_memory=3, rng=1), 3)
    victims = []
    for i in range(3, 30):
        before = memory.pairs
        memory.add(f"Q{i}", "a", valid=True)
        (gone,) = [p for p in before if p not in memory.pairs]
        victims.append(before.index(gone))
    assert set(victims) == {0, 1, 2}


def test_invalid_turns_are_not_stored():
    memory = ConversationMemory(max_memory=15, rng=0)
    assert memory.add("Q1", "Answer: B", valid=True) is True
    assert memory.add("Q2", "I'd rather not say.", valid=False) is False
    assert memory.messages() == [("user", "Q1"), ("assistant", "Answer: B")]


def test_messages_alternate_user_and_assistant_oldest_first():
    memory = fill(ConversationMemory(max_memory=15, rng=0), 2)
    assert memory.messages() == [
        ("user", "Q0"), ("assistant", "Answer: 0"), ("user", "Q1"), ("assistant", "Answer: 1")]


def test_memory_off_keeps_no_history():
    off = ConversationMemory(max_memory=15, rng=0, enabled=False)
    assert off.add("Q1", "Answer: A", valid=True) is False
    assert off.messages() == []
    zero = fill(ConversationMemory(max_memory=0, rng=0), 3)
    assert zero.messages() == []


def test_clear_and_bad_size():
    memory = fill(ConversationMemory(max_memory=2, rng=0), 4)
    assert len(memory.forgotten) == 2
    memory.clear()
    assert len(memory) == 0 and memory.forgotten == []
    with pytest.raises(ValueError, match="max_memory must be >= 0"):
        ConversationMemory(max_memory=-1)
