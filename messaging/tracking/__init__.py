"""Email tracking: `links` signs and rewrites (no models), `views` serves the public URLs."""
