"""The ``ecometer`` command line (the top of the house): one module per subcommand.

:mod:`~ecometer.commands.cli` builds the parser from the modules here; the helper modules
(:mod:`~ecometer.commands.child` runs and supervises a command, :mod:`~ecometer.commands.options`
shared options, :mod:`~ecometer.commands.watchdog` the guard process,
:mod:`~ecometer.commands.workloads` the demo's built-in workloads) serve them.

May import every other package of ecometer.
"""
