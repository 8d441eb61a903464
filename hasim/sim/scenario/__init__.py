"""What a run is asked to simulate: the scenario sections, their validation and the generated reference.

Kept apart from the model so that a scenario can be read, checked and documented (``docs/scenario.md``)
without SimPy or NumPy, and so that every key has one home: ``sections`` holds the fields with their
units, defaults and limits, ``config`` loads and overrides them, ``reference_doc`` prints them.
"""
