"""troth.consent."""
