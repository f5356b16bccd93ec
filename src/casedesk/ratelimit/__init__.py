"""Rate limits per API user (Omnium's: 20 concurrent, a bucket of 12,000 refilled by 1,000
every 10 s) and a throttle on failed token requests, shared by every worker of one server."""
