"""MLflow tracking: the store, provenance, the reporter a trial writes to,
the tracker, the UI, the sweep lease, and comparing runs.
"""
