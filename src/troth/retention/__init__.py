"""troth.retention."""
