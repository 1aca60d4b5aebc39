"""The production profile: the same code on PostgreSQL, Redis, several processes and nginx.

`python -m chatbot production up | down | status` (docs/deployment.md). Only configuration
differs from the embedded default: environment variables, and an nginx configuration made
from deploy/nginx.conf.template.
"""
