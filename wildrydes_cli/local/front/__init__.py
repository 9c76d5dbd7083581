"""local/front."""
