"""``python -m mailer.cli``: the convene command, for running it from a checkout."""

import sys

from mailer.cli import main

sys.exit(main())
