"""The scaled engine: the model of :mod:`hasim.sim.model` run with every SA's ESP state in one bank.

Apart from the model because it changes how the run is computed, never what it computes (the
equivalence tests pin its metrics to the per-SA world): ``world`` drives it, ``bank`` holds the
counters and windows of all flows, ``few`` moves a few packets one by one, ``copies`` orders copies in
flight, ``sync`` keeps the sync channel's records lazily, ``watch`` the out-of-window watches.
"""
