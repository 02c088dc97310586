"""Scenario and flag checks a fresh-eyes review found missing: inputs that used to crash or price
nonsense now get one line naming the field, exit 2."""

from __future__ import annotations

import pytest

from tests.test_hardening import SPLIT, TRAIN, _edit, run


def test_an_implicit_start_closing_a_circle_is_named(runner, write):
    # serve-cn has neither start nor after, so it starts when post-train (the training phase
    # listed before it) ends; post-train after serve-cn closes the circle (was RecursionError).
    path = _edit(
        write, "c.toml", 'workload = "finetune"', 'workload = "finetune"\nafter = "serve-cn"'
    )
    code, _, err = run(runner, ["quote", path])
    assert code == 2
    assert "in a circle" in err and "training phase listed before it" in err


def test_an_after_pointing_forward_without_a_circle_is_fine(runner, write):
    path = _edit(
        write, "c.toml", 'workload = "finetune"', 'workload = "finetune"\nafter = "pretrain"'
    )
    code, _, _ = run(runner, ["quote", path])
    assert code == 0


def test_a_global_batch_below_one_sequence_is_refused(runner, write):
    # It used to size 3.5e12 devices and a total of 4.8e20 CNY, exit 0.
    path = _edit(
        write, "b.toml", "deadline_days = 120", "deadline_days = 120\nglobal_batch_tokens = 1"
    )
    code, _, err = run(runner, ["quote", path])
    assert code == 2
    assert "phases[0]: global_batch_tokens (1) is less than one sequence of 4,096 tokens" in err
    args = [*TRAIN, "--devices", "64", "--seq-len", "8192", "--global-batch-tokens", "5000"]
    code, _, err = run(runner, args)
    assert code == 2 and "one sequence of 8,192 tokens" in err
    code, _, _ = run(runner, [*TRAIN, "--devices", "64", "--global-batch-tokens", "4096"])
    assert code == 0
