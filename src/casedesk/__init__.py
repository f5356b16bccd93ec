"""casedesk: case management that speaks the Omnium Cases API."""
