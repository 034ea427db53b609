"""The shared floor: tools every other package may use, and that use none of them.

Floors, from the bottom: common < ingest < expectations < reports < observatoire (the CLI).
A module imports only from its own floor or the ones below (tests/test_floors.py checks it).
"""
