"""Figures: pure functions from a frame to a `plotly.graph_objects.Figure`, for reports."""
