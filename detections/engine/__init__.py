"""The scheduled engine: windows, checkpoints, searches, correlation, new terms, absence, run history."""
