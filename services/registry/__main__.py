"""`python -m services.registry [serve|rebuild-read-model]` — serve is the container's command."""

import asyncio
import sys

from servicekit.serve import serve
from services.registry.app import SERVICE, create_app
from services.registry.rebuild import main as rebuild_main

if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command == "serve":
        serve(SERVICE, create_app)
    elif command == "rebuild-read-model":
        raise SystemExit(asyncio.run(rebuild_main()))
    else:
        sys.exit(f"unknown command {command!r}; use serve or rebuild-read-model")
