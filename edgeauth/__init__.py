"""edgeauth package."""
