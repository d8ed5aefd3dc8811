"""The CLI's command table (augur_sim/cli.py COMMANDS) against what the command modules
register, and start-up importing only the chosen command's module."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from augur_sim.cli import COMMANDS, build_parser

REPO = Path(__file__).resolve().parents[1]


def _commands(parser) -> dict[str, str]:
    """name -> help of the parser's subcommands, in listing order."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a.help for a in sub._choices_actions}


def test_table_matches_what_the_modules_register():
    # Names, order and help: `augur --help` (built from the table alone) says what the
    # modules define.
    assert _commands(build_parser(every=True)) == {n: h for n, (_, h) in COMMANDS.items()}


def test_help_lists_every_command_without_defining_them():
    p = build_parser([])
    assert list(_commands(p)) == list(COMMANDS)
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    assert sub.choices["estimate"].get_default("func") is None       # listed only
    full = build_parser(["estimate", "resnet50"])
    sub = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    assert sub.choices["estimate"].get_default("func") is not None   # defined


def _imported_after(argv: list[str]) -> set[str]:
    code = ("import sys\nfrom augur_sim import cli\n"
            f"try:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    return set(out.split()[-1:] and out.strip().splitlines()[-1].split())


def test_help_imports_no_stage():
    mods = _imported_after(["--help"])
    assert "augur_sim.cli" in mods
    assert not {m for m in mods if m.startswith("augur_sim.commands")}
    assert "numba" not in mods and "networkx" not in mods


def test_a_command_imports_its_module_only():
    mods = _imported_after(["hw", "list"])
    assert "augur_sim.commands.estimate" in mods
    assert not {"augur_sim.commands.explore", "augur_sim.commands.measure", "augur_sim.commands.cachesim",
                "augur_sim.commands.report"} & mods


def test_a_yaml_net_imports_no_other_reader():
    mods = _imported_after(["estimate", "resnet50", "--hw", "jetson_tx2", "--format", "summary"])
    assert "augur_sim.frontends.yamlnet" in mods
    assert not {"augur_sim.frontends.onnx", "augur_sim.frontends.ncnn", "augur_sim.frontends.caffe",
                "augur_sim.measure.export"} & mods
