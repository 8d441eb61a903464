"""Exhaustive exploration of a member pair through the real sans-IO protocol objects (``hasim explore``).

Every interleaving of delivery, loss, duplication, reordering, retransmission timers, state copies
to the standby and failovers, up to ``Bounds``, is run through ``hasim.protocol.IkeSa`` objects
themselves (not a model of them), breadth-first, with states deduplicated by a canonical key.

Where things live: ``model`` (bounds, named policies, datagrams, fixed draws), ``world`` (a state
and its key), ``steps`` (the steps and the safety checks), ``search`` (breadth-first search,
terminal outcomes, replay), ``compare`` (the readings of R5.1-5 side by side), ``ladder`` (a path as
the rows of ``hasim run --trace``).
"""
