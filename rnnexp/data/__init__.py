"""Data loaders; each module owns the config of its data."""
