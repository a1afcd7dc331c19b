"""``python -m arena``: the command line (:func:`arena.cli.main`)."""

import sys

from arena.cli import main

if __name__ == "__main__":
    sys.exit(main())
