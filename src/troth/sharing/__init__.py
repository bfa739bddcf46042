"""troth.sharing."""
