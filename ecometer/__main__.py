"""``python -m ecometer`` runs the command line."""

from ecometer.cli import main

raise SystemExit(main())
