"""siem package."""
