"""Test harness shared by the test suites and the benchmarks (never shipped in the labdock
package): throwaway registries started from the real compose/registry project, their CA and
htpasswd, and helpers that fill a registry cheaply."""
