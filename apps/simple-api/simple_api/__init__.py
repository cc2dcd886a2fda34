"""simple-api: the course's FastAPI service backed by PostgreSQL."""
