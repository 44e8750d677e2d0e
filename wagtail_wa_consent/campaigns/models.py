"""Models of the marketing campaigns."""
