"""Membership Leakage: reproducible membership-inference experiments behind a Jupyter Book."""

__version__ = "0.1.0"
