"""local/invoke."""
