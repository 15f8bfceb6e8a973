"""`python -m services.incubation [serve|rebuild-read-model]` — serve (the default, no
arguments) is the container's and the local scripts' command."""

import asyncio
import sys

from servicekit.serve import serve
from services.incubation.app import SERVICE, create_app
from services.incubation.rebuild import main as rebuild_main

if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command == "serve":
        serve(SERVICE, create_app)
    elif command == "rebuild-read-model":
        raise SystemExit(asyncio.run(rebuild_main()))
    else:
        sys.exit(f"unknown command {command!r}; use serve or rebuild-read-model")
