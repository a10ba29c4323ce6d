"""Fake servers and reply builders shared by the whole test suite.

- ``loopback``: the real loopback TCP server every socket-level fake is built on.
- ``mock_api``: one scripted ``httpx2.MockTransport`` server (no socket).
- ``replies``: chat-completion and messages reply bodies, chunks, SSE bytes, responses.
- ``wire_requests``: minimal valid wire requests.
- ``clients``: transport clients and framework models wired to the scripted server.
- ``fault_server``: the loopback fault server and its behaviours.
- ``openai_fake``: an OpenAI-compatible loopback server for the README snippets.
- ``reasoning_provider``: loopback providers that enforce reasoning send-back rules.
- ``queue_server``: a loopback server that enforces ModelsLab's queue limit.
"""
