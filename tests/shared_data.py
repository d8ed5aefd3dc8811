"""Where ../shared (the project's reference inputs) lives: beside the repo, or $AUGUR_SHARED."""
import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("AUGUR_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PROTOTXT = SHARED / "prototxt"


def prototxt(name: str) -> Path:
    p = PROTOTXT / f"{name}.prototxt"
    if not p.is_file():
        pytest.skip(f"reference descriptor {p} not present")
    return p
