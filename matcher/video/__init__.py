"""Video: frame sampling (PyAV), animations (Pillow), frame hashing and temporal alignment."""
