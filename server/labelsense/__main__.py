from labelsense.cli.main import main

raise SystemExit(main())
