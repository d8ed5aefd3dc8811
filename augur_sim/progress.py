"""The one progress bar (tqdm) of the long commands: calibrate and sweep. On stderr, off
with --no-progress; on a terminal it redraws in place, into a log it writes a line at
most every 15 s instead of a carriage-return storm."""
from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int, desc: str, unit: str = "it", enabled: bool = True, stream=None) -> tqdm:
    stream = stream or sys.stderr
    tty = bool(getattr(stream, "isatty", lambda: False)())
    return tqdm(total=max(int(total), 0), desc=desc, unit=unit, disable=not enabled, file=stream,
                mininterval=0.2 if tty else 15.0, dynamic_ncols=tty, leave=True)
