"""The Capgo updater plugin's traffic, accepted as it is sent (SPEC section 7)."""
