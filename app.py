"""Start the newsqa web UI: `python app.py [--index DIR] [--host H --port P] [--auth user:password]`."""

from __future__ import annotations

import sys

from qa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]], prog="app.py"))
