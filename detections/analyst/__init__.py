"""What analysts run by hand: event search with pivots, and retro-hunts of rules over already-ingested data."""
