"""Checks of the deployed course stacks against the course's rules (SPEC.md): containers
healthy, endpoints answering, images as published, the app as PID 1, restart policies; and,
when asked, crash recovery and volume persistence."""
