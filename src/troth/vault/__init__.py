"""troth.vault."""
