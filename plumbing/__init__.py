"""Temporal plumbing: the payload codec, the client connection, search attributes (the codec
endpoint that decrypts for people is the edge's, `edge.codec`).

Imported by the worker, the integrators' clients and the edge alike; imports nothing above `config`.
"""
