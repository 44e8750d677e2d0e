"""Models of the order notifications."""
