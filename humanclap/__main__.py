"""``python -m humanclap ...`` runs the ``humanclap`` command (see :mod:`humanclap.cli`)."""

from humanclap.cli import main

raise SystemExit(main())
