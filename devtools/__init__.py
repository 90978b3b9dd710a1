"""Developer tools: the `make run` supervisor, the demo, synthetic ID-card photos.

Not production code: nothing in production imports it.
"""
