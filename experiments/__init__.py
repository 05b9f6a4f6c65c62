"""The catalog's experiments, one module per experiment, installed as `rnnexp.experiments`.

Each module registers itself with `rnnexp.registry.register` when imported;
`rnnexp.registry.load_catalog` imports them all.
"""
