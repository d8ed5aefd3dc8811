"""The README's Python API block runs as written (a renamed argument or a moved key fails here)."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_api_block_runs(capsys):
    text = README.read_text()
    m = re.search(r"Python API:\s*```python\n(.*?)```", text, re.S)
    assert m, "README has no Python API block"
    ns: dict = {}
    exec(compile(m.group(1), "README.md (Python API)", "exec"), ns)
    est = ns["est"]
    # The block ends on the anchored estimate: scaled by the anchor, with the anchored band.
    assert est.assumptions["anchor"]["anchors"][0]["measured_ms"] == 40.0
    assert est.assumptions["expected_error"]["anchored"]
    assert capsys.readouterr().out.strip()          # the prints ran
