"""Storage infrastructure below every domain package: engines and the per-request
transaction, the inline SQLite driver, WAL checkpoints, single-row fast reads, and what a
driver error means. It knows no HTTP and no domain rule."""
