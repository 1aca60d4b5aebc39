"""Privacy at rest for conversations: redaction, erasure on request, retention purge."""
