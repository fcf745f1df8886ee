"""Active learning: pre-annotation, ranking strategies, the review queue and simulation.

Importing this package does not import torch or transformers.
"""
