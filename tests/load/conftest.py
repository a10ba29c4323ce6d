"""The load tests: thousands of concurrent calls through the transport and both classes.

They check the core's connection pool (no collapse past 1,000 concurrent calls, never
more connections open than the limit, every answer matched to its call) rather than a
fault, so they live apart from ``tests/faults`` (whose run time has its own budget).
"""
