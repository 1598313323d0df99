"""Command-line interface: one module per verb, argument parsing and output only."""
