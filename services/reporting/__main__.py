"""`python -m services.reporting [serve|replay|checksum]` — serve is the container's command."""

from services.reporting.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
