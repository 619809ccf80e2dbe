"""The DEF memory simulation (Liu et al. 2025, "Memory Modification").

Respondents filling a long questionnaire remember some earlier questions and their own answers. The
paper's mechanism: keep only request queries and model answers (no system prompt, no failed
turns) to build a larger memory span; drop turns that failed to give an answer; cap the
history at ``max_memory`` pairs (15 in the paper) and, when the cap is reached, delete a *random*
earlier pair rather than the oldest, so different simulated respondents remember different
histories.
"""

from __future__ import annotations

import numpy as np

Message = tuple[str, str]


class ConversationMemory:
    """(question prompt, answer) pairs replayed as chat history before the next question.

    ``rng`` is a ``numpy.random.Generator`` or a seed; the same seed and the same sequence of
    :meth:`add` calls forget the same pairs. ``enabled=False`` (memory off) keeps nothing.
    """

    def __init__(self, max_memory: int = 15, rng: np.random.Generator | int | None = None,
                 *, enabled: bool = True):
        if max_memory < 0:
            raise ValueError(f"max_memory must be >= 0, got {max_memory}")
        self.max_memory = max_memory
        self.enabled = enabled
        self._rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._pairs: list[tuple[str, str]] = []
        self.forgotten: list[tuple[str, str]] = []  # in deletion order, for inspection

    def add(self, prompt: str, answer: str, valid: bool) -> bool:
        """Remember one turn; returns whether it was stored.

        Turns without a valid answer are not stored (the paper cleans them after each inference).
        When the memory is full, one earlier pair chosen uniformly at random is forgotten first.
        """
        if not (self.enabled and valid and self.max_memory > 0):
            return False
        if len(self._pairs) >= self.max_memory:
            self.forgotten.append(self._pairs.pop(int(self._rng.integers(len(self._pairs)))))
        self._pairs.append((prompt, answer))
        return True

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def messages(self) -> list[Message]:
        """The history as ``[("user", prompt), ("assistant", answer), ...]``, oldest first."""
        out: list[Message] = []
        for prompt, answer in self._pairs:
            out += [("user", prompt), ("assistant", answer)]
        return out

    def clear(self) -> None:
        """Forget everything (a new simulated respondent)."""
        self._pairs.clear()
        self.forgotten.clear()

    def __len__(self) -> int:
        return len(self._pairs)
