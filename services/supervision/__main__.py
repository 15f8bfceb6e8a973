"""`python -m services.supervision [serve|rebuild-read-model]` — serve (the default, no
arguments) is the container's and the local scripts' command."""

from servicekit.serve import main
from services.supervision.app import SERVICE, create_app
from services.supervision.rebuild import READ_MODEL

if __name__ == "__main__":
    main(SERVICE, create_app, READ_MODEL)
