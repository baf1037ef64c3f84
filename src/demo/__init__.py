"""Synthetic demo data: the dancers demo.sh and the tests draw."""
