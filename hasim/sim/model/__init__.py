"""The cluster model in SimPy: world, sites and members, failover, sync, detection, probes and metrics.

This is the model a reviewer reads to know what a run means: ``world`` builds a run from a scenario,
``sites`` holds the cluster members and the peer, ``sync_channel`` and ``sync_gate`` the periodic
state sync, ``membership`` the members' heartbeats (failure detection, split brain, rejoin),
``failover`` the faults and takeovers, ``probes`` what is observed on the wire, ``metrics`` what a run
reports. Packets move through the ESP data plane (:mod:`hasim.sim.dataplane`); the 10,000-peer engine
(:mod:`hasim.sim.scale`) runs this same model with the data plane held in arrays.
"""
