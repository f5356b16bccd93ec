"""The reliability and security battery (issue 4): cross-cutting runs that try to break
casedesk. CI runs them at scale 1; `make battery` runs them larger (CASEDESK_BATTERY_SCALE)."""
