"""``python -m matcher`` runs the CLI."""

import sys

from matcher.cli import main

sys.exit(main())
