"""The catalog's experiments, one module per experiment, installed as `rnnexp.experiments`.

Each module registers itself with `rnnexp.catalog.register` when imported;
`rnnexp.catalog.load_catalog` imports them all.
"""
