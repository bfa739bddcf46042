"""troth.server."""
