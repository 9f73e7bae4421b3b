"""Subcommands of the ecometer CLI, one module each (see ecometer.cli)."""
