from hyflex_plugin.cli import main

raise SystemExit(main())
