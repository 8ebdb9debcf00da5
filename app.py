"""Start the newsqa web UI: `python app.py [--index DIR] [--host H --port P] [--auth user:password]`."""

from __future__ import annotations

import sys

from qa.web.serve import main

if __name__ == "__main__":
    sys.exit(main())
