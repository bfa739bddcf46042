"""troth: keep the promises your privacy policy makes."""

__version__ = "0.1.0"
