"""Alembic migrations of the artifact index schema."""
