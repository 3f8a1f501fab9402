"""`make bench`: benchmarks that print tables of medians and same-run ratios; never timed tests."""
