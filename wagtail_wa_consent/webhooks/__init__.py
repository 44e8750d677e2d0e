"""Meta's webhooks: signature check, raw storage, parsing to normalised events, handlers.

``parser.parse_webhook`` turns a webhook body into the frozen events of ``events``, and
``keywords.match_keyword`` reads STOP, START, HELP, Yes and No in a message; both are pure
Python (no database). ``ingest``, ``processing`` and ``handlers`` store and act on them.
"""
