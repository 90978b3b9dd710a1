"""Benchmarks (`make bench`, not part of `make test`): see `bench/run.py`.

The registration system on the dev server with the real worker processes, beside a no-op skeleton
workflow of the same shape in worker processes of its own, driven by the same driver (a process
of its own, an integrator) in the same run; CPU per registration of each process; history size
per registration; worker memory and the reviewer's inbox through the edge with many registrations
waiting for review; the first reminder once each on the time-skipping server.
"""
