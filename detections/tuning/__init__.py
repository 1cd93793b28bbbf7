"""Tuning without editing rules: Sigma meta-filters from the rule paths and analysts' exceptions stored as filters."""
