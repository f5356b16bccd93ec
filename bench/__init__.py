"""`make bench`: the throughput and latency benchmark of casedesk over real HTTP (issue 3)."""
