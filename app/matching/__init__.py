"""Matching: find the same person across missing and found reports."""
