"""Developer tools that are not part of the distribution: the cassette recording harness."""
