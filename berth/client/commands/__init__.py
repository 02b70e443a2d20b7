"""One module per client command; each exposes `register(commands)`."""
