"""The labor-service domain (DESIGN §9): replicated tables, their merge policies and their rules.

Importing this package registers every table with `node.schema`.
"""
from node.domain import person  # noqa: F401
