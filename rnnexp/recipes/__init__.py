"""One home per kind of experiment: supervised, long-range tasks, sequence generation."""
