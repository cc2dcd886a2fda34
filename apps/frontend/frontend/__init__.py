"""frontend: the frontend/backend course's JSON API that calls the backend."""
