"""Codebook stability statistics: ARI of assignments and Hungarian matching of centroids."""
from __future__ import annotations

import numpy as np
import pytest

from workbench.codebook.stability import assignment_agreement, match_codes


def test_ari_is_one_for_a_relabelled_partition_and_low_for_a_shuffle():
    ids = np.arange(60)
    labels = np.repeat([0, 1, 2], 20)
    assert assignment_agreement(ids, labels, ids[::-1], (labels[::-1] + 1) % 3) == pytest.approx(1.0)
    shuffled = np.random.default_rng(0).permutation(labels)
    assert abs(assignment_agreement(ids, labels, ids, shuffled)) < 0.1
    # only the expressions both codebooks assign count
    assert assignment_agreement(ids[:30], labels[:30], ids[20:], labels[20:]) == pytest.approx(1.0)


def test_hungarian_pairs_count_as_matched_only_when_their_members_cannot_be_told_apart():
    rng = np.random.default_rng(1)
    centres = 3 * rng.normal(size=(4, 8)) + 20 * np.eye(8)[0]
    a = [c + rng.normal(size=(20, 8)) for c in centres]
    # b: codes 2, 0 and 3 of a again (members resampled), and two new codes
    new = 3 * rng.normal(size=(2, 8)) + 20 * np.eye(8)[0]
    b = [centres[k] + rng.normal(size=(20, 8)) for k in (2, 0, 3)] + [c + rng.normal(size=(20, 8)) for c in new]
    match = match_codes(a, b)
    assert sorted((i, j) for i, j, _ in match.pairs) == [(0, 1), (2, 0), (3, 2)]
    assert match.share == pytest.approx(3 / 5)
    assert match_codes(a, b, min_separation=0.01).share == 0


def test_a_code_too_small_to_test_is_not_counted_as_matched():
    from workbench.codebook.stability import match_codes

    one = [np.array([[1.0, 0.0, 0.0]])]  # a single member: the separation test cannot run
    assert match_codes(one, [np.array([[1.0, 0.0, 0.0]])]).pairs == []
