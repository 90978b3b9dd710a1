"""The edge's services: what people do through the web app and the CLI (intake, inbox, user center).

They use the clients of `starter`, `store` and `domain`; never workflows, activities or the worker.
"""
