"""troth.rights."""
