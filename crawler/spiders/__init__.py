"""Spiders: one generic spider driven by the site registry."""
