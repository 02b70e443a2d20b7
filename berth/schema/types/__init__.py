"""Strawberry types of the contract, built from model rows."""
