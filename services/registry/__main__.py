"""`python -m services.registry [serve|rebuild-read-model]` — serve is the container's command."""

from servicekit.serve import main
from services.registry.app import SERVICE, create_app
from services.registry.rebuild import rebuild

if __name__ == "__main__":
    main(SERVICE, create_app, rebuild, describe=lambda count: f"{count} agencies")
