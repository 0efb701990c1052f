"""About the service: the accessibility statement and the privacy notice (public pages)."""
