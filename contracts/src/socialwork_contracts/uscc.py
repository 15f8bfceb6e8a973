"""The unified social credit code's check character (统一社会信用代码, GB 32100-2015).

The identity of an agency (`uscc` in every event) is 18 characters: 1 registering department,
2 organisation category, 3-8 division code, 9-17 organisation code, 18 the check character
computed here. Integrators may use it to check a code before they send it.
"""

from __future__ import annotations

import operator

# GB 32100-2015: the 31 characters in use (0-9, A-Z without I O S V Z), in value order.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
# Each character's value (its place in CHARSET): the check of a registration's code was a sixth
# of the registry's decision (issue 12), so the values come from one `translate` to bytes and
# are weighted and summed in C.
_VALUES = {c: i for i, c in enumerate(CHARSET)}
_AS_VALUE = str.maketrans({c: chr(i) for c, i in _VALUES.items()})


def uses_code_characters(code: str) -> bool:
    """True when every character is one GB 32100-2015 allows (upper case, no I O S V Z)."""
    return _VALUES.keys() >= set(code)


def check_character(first17: str) -> str:
    """The check character of the first 17 characters (GB 32100-2015: weighted sum mod 31)."""
    if len(first17) != LENGTH - 1 or not uses_code_characters(first17):
        raise ValueError(f"need 17 characters from {CHARSET}: {first17!r}")
    values = first17.translate(_AS_VALUE).encode("latin-1")  # checked: only CHARSET's
    total = sum(map(operator.mul, values, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]
