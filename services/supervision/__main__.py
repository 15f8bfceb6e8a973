"""`python -m services.supervision` — the container's and the local scripts' entry point."""

from servicekit.serve import main
from services.supervision.app import SERVICE, create_app

if __name__ == "__main__":
    main(SERVICE, create_app)
