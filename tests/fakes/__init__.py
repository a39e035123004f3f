"""Local servers that speak the providers' protocols, started by tests and benchmarks."""
