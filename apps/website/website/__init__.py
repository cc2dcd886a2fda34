"""website: the course's Minecraft player-head page, with persisted query statistics."""
