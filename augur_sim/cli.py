"""The `augur` command. Bad input: one line on stderr, exit code 2, never a traceback."""
from __future__ import annotations

import argparse
import sys

from .commands import cachesim, estimate, explore, measure, report
from .errors import AugurError

# Modules that add their own subcommands: each has register(subparsers).
COMMAND_MODULES = [
    estimate,  # nets, analyze, estimate, hw, export
    cachesim,  # cachesim
    explore,   # whatif, sweep, plot
    measure,   # calibrate, validate
    report,    # report (HTML)
]


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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="augur", description="Estimate CNN latency, memory and energy on a device, "
                                          "from its descriptor and a YAML hardware spec.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for mod in COMMAND_MODULES:
        mod.register(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
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
