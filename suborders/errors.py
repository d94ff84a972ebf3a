"""Error codes of the suborders app (the API docs list them): typed errors raised by its services."""
from core.errors import InvalidTransition

SUBORDER_HELD = "suborder_held"


class SubOrderHeld(InvalidTransition):
    """The suborder is held for review: nobody (person, token or rule) accepts or ships it until released."""

    code = SUBORDER_HELD
