"""Cached experiment stages: each takes a typed config and returns artefacts from the store."""
