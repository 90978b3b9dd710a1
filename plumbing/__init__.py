"""Temporal plumbing: the payload codec and its server, the client connection, search attributes.

Imported by the worker, the integrators' clients and the edge alike; imports nothing above `config`.
"""
