"""Inputs that feed the pipeline besides HTTP: file tail, Python logging, edgeauth decisions."""
