"""How a sweep runs: the runner, one trial, the executors side by side
(local: serial or --workers; ray), robustness over seeds.
"""
