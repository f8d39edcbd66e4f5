"""Administration of organizations, users, memberships, apps and keys (used by the CLI)."""
