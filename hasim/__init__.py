"""hasim: a discrete-event simulator of IKEv2/IPsec hot-standby cluster failover (RFC 6311).

Four floors, imports flowing down only: ``wire`` (bytes), ``protocol`` (sans-IO state machines),
``sim`` (SimPy processes) and ``experiments`` (scenarios, sweeps, results, reports).
"""

__version__ = "0.1.0"
