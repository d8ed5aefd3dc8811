"""The `augur` command. Bad input: one line on stderr, exit code 2, never a traceback.

Start-up imports only what the chosen command needs: the command table below names each
subcommand's module and one-line help, so `augur --help` and the parser of every other
command are built from the table alone, and only the chosen command's module (with its
stage's dependencies: numba, networkx, ...) is imported."""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import AugurError

# Every subcommand: (its module under augur_sim.commands, its one-line help). A module
# registers all its commands with register(subparsers); tests/test_cli_registry.py checks
# this table against what the modules register (names and help), so the two cannot drift.
COMMANDS: dict[str, tuple[str, str]] = {
    "nets": ("estimate", "list the networks shipped in nets/"),
    "analyze": ("estimate", "per-layer counts: MACs, FLOPs, params, activations"),
    "estimate": ("estimate", "time, memory and energy per layer on a device"),
    "hw": ("estimate", "hardware specs: list, show, check, schema"),
    "export": ("export", "write a network as an ONNX model with random weights"),
    "cachesim": ("cachesim", "trace-driven cache simulation of one layer (hits and misses per level)"),
    "whatif": ("explore", "change hardware spec fields (--set) or sweep them (--vary)"),
    "sweep": ("explore", "networks x devices x batch x precision -> parquet/csv"),
    "plot": ("explore", "heatmap and Pareto chart of a sweep's results"),
    "calibrate": ("measure", "measure this machine under ONNX Runtime and write a hardware spec"),
    "validate": ("measure", "run a network here (ONNX Runtime on the CPU, or PyTorch on a CUDA GPU "
                            "with --processor gpu); measured vs predicted"),
    "fit-corpus": ("measure", "fit a runtime's portable parameters to a measurement corpus "
                              "(ncnn: the benchncnn results)"),
    "report": ("report", "an estimate as one self-contained HTML page (one or more devices)"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's own convention for usage errors)
        # One "augur: error:" prefix: name the subcommand (not "augur" again), and say where help is.
        sub = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        hint = f" (see `{self.prog} --help`)"
        if "unrecognized arguments" in message and sub:
            hint = (f" (options that take a list accept several values, repeated or comma-separated; "
                    f"see `{self.prog} --help`)")
        raise SystemExit(_fail(f"{sub + ': ' if sub else ''}{message}{hint}"))


def _fail(msg: str) -> int:
    print(f"augur: error: {msg}", file=sys.stderr)
    return 2


def command_module(name: str):
    """The module that defines and runs command `name` (imported now, on first use)."""
    return importlib.import_module(f"augur_sim.commands.{COMMANDS[name][0]}")


def build_parser(argv: list[str] | None = None, every: bool = False) -> argparse.ArgumentParser:
    """The parser for argv: the command argv names (its first word that is not an option)
    gets its full definition from its module; every other command is listed by name and
    help only. every=True: every command in full (tests, introspection)."""
    p = _Parser(prog="augur", description="Estimate CNN latency, memory and energy on a device, "
                                          "from its descriptor and a YAML hardware spec.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    words = [a for a in (argv or []) if not a.startswith("-")]
    chosen = list(COMMANDS) if every else [w for w in words[:1] if w in COMMANDS]
    # A module registers all its commands at once: one name per module.
    for name in {COMMANDS[n][0]: n for n in chosen}.values():
        command_module(name).register(sub)
    for name, (_, help_text) in COMMANDS.items():
        if name not in sub.choices:  # listed, not defined: never parsed, as argv names another
            sub.add_parser(name, help=help_text, add_help=False)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except AugurError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:
        return 0
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
