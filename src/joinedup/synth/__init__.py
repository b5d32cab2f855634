"""Synthetic places for the demo, the tests and the benchmarks. Every person in them is made up."""
