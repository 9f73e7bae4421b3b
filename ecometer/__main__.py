"""``python -m ecometer`` runs the command line."""

from ecometer.commands.cli import main

raise SystemExit(main())
