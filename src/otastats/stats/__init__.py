"""The Statistics API: parsing a query, reading the kept state and shaping the answer."""
