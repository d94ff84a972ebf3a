"""Error codes of support (stable; listed in docs/api.md)."""
NOT_PARTY = "ticket_not_party"  # a message to a ticket the user is not a party to (answered as 404: not visible)
CLOSED = "ticket_closed"  # a reply to a closed ticket past the reopen window
BAD_ATTACHMENT = "bad_attachment"  # not an image or PDF, unreadable, or over the size limit
DISPUTE_EXISTS = "dispute_exists"
DISPUTE_DECIDED = "dispute_decided"
NO_SUBORDER = "dispute_no_suborder"  # a refund decision on a ticket whose order has no suborder of the store
