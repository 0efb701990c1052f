"""A signed-in user's own account: passphrase, sessions and recent sign-ins."""
