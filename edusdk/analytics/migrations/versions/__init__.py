"""Analytics schema revisions, oldest first."""
