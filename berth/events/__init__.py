"""Wake-ups for live streams: which deployment has new events or log lines."""
