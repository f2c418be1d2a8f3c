"""The cluster simulator of the demo: a seeded HXB platform written as a snapshot directory
(what `kubectl get -A -o json` prints) or created in a live API server (tests)."""
