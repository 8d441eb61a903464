"""The scaled engine: the model of :mod:`hasim.sim.model` run with every SA's ESP state in one bank.

Apart from the model because it changes how the run is computed, never what it computes (the
equivalence tests pin its metrics to the per-SA world). ``world`` drives it; ``bank`` moves all flows
epoch by epoch, bound to the protocol's Child SAs, on the state in ``bank_state`` with the passes of
``send`` and ``deliver`` (each in array and packet-by-packet form side by side), the pass over all
flows range by range of flows in ``bulk``, and the epoch's index in ``epoch``; ``copies`` orders the
copies in flight; ``records`` and ``sync`` keep what the standby knows lazily; ``watch`` runs the
out-of-window watches.
"""
