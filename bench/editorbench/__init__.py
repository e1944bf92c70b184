"""The editor benchmark's parts: the workload it types and a minimal LSP client to time the server."""
