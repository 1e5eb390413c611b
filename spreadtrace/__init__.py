"""spreadtrace's command-line shell. See README.md and docs/architecture.md."""

import os

# Before anything loads libgomp (FAISS): OpenMP threads spin between parallel regions by default, and on
# a busy two-core machine their spinning took the cores the searches needed (a 10,000-media `case add`
# took 173 s spinning, 48 s waiting passively). Set here, the shell's first import, and inherited by its
# worker processes; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
