"""spreadtrace's command-line shell. See README.md and docs/architecture.md."""
