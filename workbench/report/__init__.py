"""Reports and exports: the HTML report with its figures, and codebook exports (JSON, CSV, REFI-QDA)."""
