"""Floor 3: SimPy processes around the protocol objects: cluster, peer, links, sync channel, faults."""
