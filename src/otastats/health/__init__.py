"""Update health: which device reports count in which class, and the answer of the health
endpoint (SPEC section 8)."""
