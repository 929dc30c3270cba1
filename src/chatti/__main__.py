from chatti.cli import main

raise SystemExit(main())
