"""Model capabilities as data, one table per backend."""
