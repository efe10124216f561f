"""runtime/memory.py: the figures a stage's log gives, and `release` giving freed heap back."""

from __future__ import annotations

import re

import torch

from runtime.memory import memory_line, peak_resident_bytes, release, resident_bytes


def test_the_peak_is_at_least_what_is_resident_and_grows_with_an_allocation():
    before = peak_resident_bytes()
    assert before >= resident_bytes() > 0
    block = torch.ones(64 << 20, dtype=torch.uint8)  # 64 MiB, every page touched
    assert peak_resident_bytes() >= before and resident_bytes() >= 64 << 20
    del block
    release()
    assert re.fullmatch(r"resident \d+\.\d GiB, peak \d+\.\d GiB", memory_line())
