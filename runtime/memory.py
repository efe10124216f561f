"""Give memory back between the stages of one process.

A whole run (capability model, two trainings, the evals, the analysis) lives in one process. Python
frees a stage's model when its last reference goes, but glibc keeps the freed heap for reuse, so the
resident size of the process grows towards the sum of its stages. `release` collects what is
unreachable, empties the accelerator's cache and asks glibc to return free pages (malloc_trim), so
the peak is the largest stage's (bench/demo_stages.py samples it).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import resource
import sys
from pathlib import Path

import torch


def release() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    name = ctypes.util.find_library("c")
    if name is None:  # not glibc (macOS, musl): nothing more to ask for
        return
    libc = ctypes.CDLL(name)
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def resident_bytes() -> int:
    """This process's resident set size now (Linux: /proc; elsewhere 0)."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
    except OSError:
        return 0
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_resident_bytes() -> int:
    """The largest resident set size this process has had so far: getrusage's (kilobytes on Linux, bytes on
    macOS), or the present one where the kernel has not counted it in yet (it updates the mark lazily)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(peak if sys.platform == "darwin" else peak * 1024, resident_bytes())


def memory_line() -> str:
    """'resident 2.1 GiB, peak 5.3 GiB': what a stage's log says after each part."""
    gib = 1 << 30
    return f"resident {resident_bytes() / gib:.1f} GiB, peak {peak_resident_bytes() / gib:.1f} GiB"
