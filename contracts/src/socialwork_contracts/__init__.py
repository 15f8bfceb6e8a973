"""Public event contracts of the Zhengzhou social-work incubation platform.

Pydantic models of every published event (`registry`, `incubation`, `supervision`), the
CloudEvents 1.0 envelope (`envelope`), Kafka topics (`topics`), the catalog that loads any stored
or received version as the current one (`catalog`), and shipped reference data (`reference`).
`python -m socialwork_contracts.export` writes the JSON Schemas, examples and AsyncAPI document.
"""

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent

# The contracts' version (the package version is read from here). Bump the minor version when
# event types or versions are added, the patch version for documentation.
__version__ = "1.3.1"

__all__ = ["CloudEvent", "DomainEvent", "__version__"]
