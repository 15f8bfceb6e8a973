"""`python -m services.incubation` — the container's and the local scripts' entry point."""

from servicekit.serve import serve
from services.incubation.app import SERVICE, create_app

if __name__ == "__main__":
    serve(SERVICE, create_app)
