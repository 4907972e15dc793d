"""Experiments: from settings to a trained, evaluated artifact (train, compare, sweep,
evaluate), experiment files and past runs."""
