"""``python -m metaframe`` (and ``torchrun -m metaframe``) run the CLI."""

import sys

from metaframe.cli.main import main

sys.exit(main())
