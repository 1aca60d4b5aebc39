"""Rasa NLU components built from knowledge/ (imported by config.yml by path)."""
