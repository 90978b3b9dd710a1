"""Benchmarks (`make bench`, not part of `make test`): see `bench/run.py`.

The registration system on the dev server with the real worker, beside a no-op skeleton workflow
of the same shape driven by the same driver in the same run; history size per registration; worker
memory and the reviewer's inbox with many registrations waiting for review.
"""
