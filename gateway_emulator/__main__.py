"""``python -m gateway_emulator``: see gateway_emulator.cli."""

from gateway_emulator.cli import main

raise SystemExit(main())
