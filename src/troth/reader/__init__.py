"""troth.reader."""
