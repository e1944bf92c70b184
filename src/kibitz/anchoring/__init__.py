"""Follow lines of code as the code changes: pure functions, no I/O.

``relocate(old_text, new_text, Range(start, end))`` says where lines ``start..end`` of the old text
are in the new one: ``unchanged``, ``shifted``, ``changed``, ``moved`` (maybe into one of the
``candidates``) or ``deleted``, with a confidence. ``relocate_many`` does the same for many ranges
of one text pair with a single diff. See ``relocate`` for the algorithm.
"""

from .location import ALGORITHM_VERSION, STATUSES, Anchor, Context, Location, Range, Status
from .relocate import relocate, relocate_many

__all__ = [
    "ALGORITHM_VERSION",
    "STATUSES",
    "Anchor",
    "Context",
    "Location",
    "Range",
    "Status",
    "relocate",
    "relocate_many",
]
