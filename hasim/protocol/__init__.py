"""Floor 2: sans-IO state machines (IKE SA, Child SA, anti-replay, RFC 6311); time and draws passed in."""
