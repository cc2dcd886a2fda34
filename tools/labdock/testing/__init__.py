"""Throwaway registries for the integration tests and the benchmarks: a CA and htpasswd made
on the fly, the real compose/registry project started under its own name and port, and
helpers that fill it cheaply."""
