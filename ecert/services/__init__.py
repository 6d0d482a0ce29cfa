"""Domain services: plain functions taking a Session. They flush, never commit, never import flask."""
