"""crmsim."""
