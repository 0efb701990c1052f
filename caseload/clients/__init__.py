"""Finding a client: search, the client page, re-referral and my discharged clients."""
