"""Floor above wire and protocol: hasim speaking real IKEv2 to strongSwan's charon (RFC 6311 interop).

``handshake`` sets up an IKE SA for real (IKE_SA_INIT, IKE_AUTH with a pre-shared key), then
hasim.protocol's ``IkeSa`` takes over as the newly active cluster member while a second ``IkeSa``
in charon's role predicts, message by message, what charon must answer (``cases``).
"""
