"""Export archives of a person's or a team's data, and the import of team archives into another server."""
