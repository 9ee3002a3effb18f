"""Maintenance scripts; a regular package so `python -m scripts.official_units` finds this folder
even if some installed distribution ships a top-level `scripts` package of its own."""
