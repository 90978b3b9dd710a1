"""The integrator's typed client (`starter.client`) and the command line on top of it."""
