"""CLI subcommands, one module a group; each exposes register(subparsers)."""
