"""labdock: verify and maintain the lab registry and course stacks."""
