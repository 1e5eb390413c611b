"""Takedown notices: drafted per host from a case's sightings and evidence, sent, and followed to their
deadline. See docs/architecture.md ("Takedowns")."""
