"""Shared by both installs and torch-free: errors, atomic files, the model contract, the backend base, scores."""
