"""Runbooks: notebooks with typed parameters, run locally or on Kubernetes, recorded in MLflow."""
