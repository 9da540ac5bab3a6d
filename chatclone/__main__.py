"""`python -m chatclone ...` (also what `accelerate launch -m chatclone` runs)."""

import sys

from chatclone.cli import main

sys.exit(main())
