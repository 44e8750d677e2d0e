"""The consent ledger: models, state machine, hash chain and the service functions."""
