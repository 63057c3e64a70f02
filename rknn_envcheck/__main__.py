from rknn_envcheck.cli import main

raise SystemExit(main())
