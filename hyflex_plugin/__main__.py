"""``python -m hyflex_plugin``: the ``hyflex`` command."""

from hyflex_plugin.cli import main

raise SystemExit(main())
