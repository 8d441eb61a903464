"""Floor 2: sans-IO state machines (IKE SA, Child SA, anti-replay, RFC 6311); time and draws passed in.

Where things live:
- ``ike_sa``: ``IkeSa``, one IKE SA driven by ``receive``/``handle_timer``/API calls (start here);
  ``sa_state``: its life cycle.
- ``mid_window``, ``retransmit``: Message ID windows, outstanding requests, retransmission (RFC 7296 2.1-2.3).
- ``exchanges``, ``ike_exchanges``: payload shapes and the IKE_SA_INIT, IKE_AUTH, INFORMATIONAL and
  CREATE_CHILD_SA exchanges, with the RFC 6311 capability negotiation.
- ``rfc6311_member`` (its docstring is the theory of operation), ``rfc6311_peer``: RFC 6311 sections 5-9.
- ``snapshot``: the frozen state cluster members share; ``policy``: every named option; ``events``.
- ``membership``: a member's heartbeats, master-down timer, takeover and stepping down (RFC 5798 6.1,
  strongSwan HA): what detects a crash, and what a lossy cluster link turns into a false failover.
- ``child_sa``: Child SAs and cluster-unique SPIs; ``esp_counter``, ``anti_replay``, ``iv_reuse``: the
  ESP data plane's reference objects.
"""
