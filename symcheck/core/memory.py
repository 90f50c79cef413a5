"""How much memory a computation may take: judged before the work, never after the machine
runs out.

>>> memory_budget() > 0
True
"""

from __future__ import annotations

import os

#: the share of the available memory one computation may plan to take
MEMORY_FRACTION = 0.5


def available_memory() -> int:
    """Bytes of memory available to this process (MemAvailable; physical memory as fallback)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 8 << 30


def memory_budget() -> float:
    """Bytes a computation may take: a fixed fraction of the available memory."""
    return MEMORY_FRACTION * available_memory()


def gib(nbytes: float) -> str:
    """``nbytes`` in GiB for a message (``3.2 GiB``; ``8.7e+11 GiB`` when absurd)."""
    value = nbytes / 2**30
    return f"{value:.1f} GiB" if value < 1e6 else f"{value:.1e} GiB"
