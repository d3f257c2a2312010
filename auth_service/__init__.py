"""Authentication: password hashing, RS256 signing keys, JWT issue/verify and refresh sessions."""
