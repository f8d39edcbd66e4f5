"""GET /me: the key's user, and the organizations and apps the key may read."""
