"""Status callbacks: a persistent outbox, signed POSTs, retries for at least 24 hours."""
