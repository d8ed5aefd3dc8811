"""Run the `augur` CLI in-process or as a subprocess of this interpreter."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_RUNNER = "import sys, augur_sim.cli as c\nsys.exit(c.main(sys.argv[1:]))\n"


def augur(argv):
    """In-process: returns the exit code (errors print one line on stderr)."""
    import augur_sim.cli as cli
    try:
        return cli.main([str(a) for a in argv])
    except SystemExit as e:  # argparse usage errors
        return e.code


def augur_cmd(argv) -> list:
    return [sys.executable, "-c", _RUNNER] + [str(a) for a in argv]


def augur_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_augur(argv, **kw):
    return subprocess.run(augur_cmd(argv), cwd=REPO, env=augur_env(), capture_output=True, text=True, **kw)
