"""backend: the frontend/backend course's JSON API."""
